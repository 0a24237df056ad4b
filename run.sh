#!/usr/bin/env bash
# Set up (first time) and run TimelyGator: the server on http://127.0.0.1:5700 with its
# database in your user data directory. Extra arguments go to tg-server (try --help).
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh runtime
exec .venv/bin/tg-server "$@"
