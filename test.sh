#!/usr/bin/env bash
# Set up (first time: system packages, virtualenv) and run the whole test suite.
# Extra arguments go to pytest, e.g. ./test.sh tests/server -x
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh test
exec .venv/bin/python -m pytest "$@"
