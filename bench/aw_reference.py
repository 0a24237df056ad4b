"""ActivityWatch's aw-server 0.12.0 as a reference to benchmark tg-server against.

It lives in its own venv (bench/.venvs/aw, gitignored), created once. aw-server 0.12.0 needs
older pins than pip resolves on its own: newer peewee breaks bucket listing and Flask 2.3
breaks /query/, so a second install pins them (pip reports a conflict; the server runs).
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

VENV = Path(__file__).resolve().parent / ".venvs" / "aw"
REQUIREMENTS = (
    ["aw-server==0.12.0"],
    ["aw-core==0.5.15", "peewee<3.18", "flask<2.3", "werkzeug<2.3"],
)


def ensure_venv() -> Path:
    """Create the aw-server venv once; return the path of its `aw-server` script."""
    script = VENV / "bin" / "aw-server"
    marker = VENV / ".installed"
    if marker.exists() and script.exists():
        return script
    if not (VENV / "bin" / "python").exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    pip = [str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    for requirement in REQUIREMENTS:
        # The second step always prints a resolver conflict warning: that is expected.
        subprocess.run(pip + requirement, check=True, stderr=subprocess.DEVNULL)
    marker.write_text("\n".join(" ".join(r) for r in REQUIREMENTS) + "\n")
    return script


def aw_env(home: Path) -> dict[str, str]:
    """An environment that keeps every file aw-server writes under `home`."""
    env = dict(os.environ)
    for key in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
        env.pop(key, None)
    env.update(
        HOME=str(home),
        XDG_DATA_HOME=str(home / "data"),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_CACHE_HOME=str(home / "cache"),
        XDG_STATE_HOME=str(home / "state"),
        PYTHONUNBUFFERED="1",
    )
    return env


def start(port: int, home: Path, log) -> subprocess.Popen:
    """Start aw-server on 127.0.0.1:`port` with its files under `home` (not yet waited for).

    Not `--testing`: that turns on Flask's debugger, which is slower and not what users run.
    """
    script = ensure_venv()
    return subprocess.Popen(
        [str(script), "--port", str(port), "--host", "127.0.0.1"],
        env=aw_env(home), stdout=log, stderr=subprocess.STDOUT, cwd=home,
    )


def database_files(home: Path) -> list[Path]:
    """aw-server's SQLite file(s), wherever its version puts them under XDG_DATA_HOME."""
    root = home / "data" / "activitywatch"
    return sorted(p for p in root.rglob("*.db*") if p.is_file())


if __name__ == "__main__":
    print(ensure_venv())
    sys.exit(0)
