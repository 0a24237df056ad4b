#!/usr/bin/env bash
# Shared by run.sh and test.sh: make sure the system packages and the virtualenv are there.
# Usage: scripts/setup.sh [runtime|test]
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-runtime}"

apt_install() {
  # Install Debian packages that are missing; uses sudo when not root.
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "Installing system packages: ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

PYTHON="${PYTHON:-python3}"
if command -v dpkg-query >/dev/null 2>&1; then
  # pynput pulls evdev, which compiles; venv is a separate package on Debian.
  runtime_pkgs=(gcc)
  "$PYTHON" -c "import venv, ensurepip" 2>/dev/null || runtime_pkgs+=(python3-venv)
  "$PYTHON" -c "import sysconfig, os; assert os.path.exists(os.path.join(sysconfig.get_paths()['include'], 'Python.h'))" 2>/dev/null || runtime_pkgs+=(python3-dev)
  apt_install "${runtime_pkgs[@]}"
  if [ "$mode" = test ]; then
    # A real X server, window manager, input injection and browser for the desktop tests.
    apt_install xvfb jwm xdotool x11-utils x11-xserver-utils xterm chromium
  fi
fi

if [ ! -x .venv/bin/python ]; then
  echo "Creating the virtualenv in .venv" >&2
  "$PYTHON" -m venv .venv
fi
extra=""
[ "$mode" = test ] && extra="[test]"
stamp=".venv/.tg-installed-${mode}"
want="$(cat pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "Installing TimelyGator${extra} into .venv" >&2
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e ".${extra}"
  echo "$want" > "$stamp"
fi
