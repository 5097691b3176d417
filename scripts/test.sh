#!/usr/bin/env bash
# Sets up everything the tests need on a fresh machine, then runs every test.
# Usage: bash scripts/test.sh [pytest args...]  (with no arguments: ruff, the import contracts, then every test)
set -euo pipefail
cd "$(dirname "$0")/.."

python -m pip install -q -r requirements-dev.txt

# The end-to-end tests drive Debian's Chromium through Playwright
# (`playwright install` cannot download a browser here).
if [ -z "${PLAYGROUND_CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1; then
  echo "Installing Chromium from Debian's packages for the browser tests..."
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get install -y -q chromium >/dev/null 2>&1 || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q chromium >/dev/null; }
fi

# The rules a machine can check: lint, one formatting, and the import contracts in pyproject.toml
# (the core never imports streamlit, ui/ never imports torch, the core's packages import downward).
if [ "$#" -eq 0 ]; then
  python -m ruff check .
  python -m ruff format --check .
  lint-imports --no-cache
  # The browser tests spend most of their time waiting on a server, a browser or a run, so they go
  # two at a time (pytest-xdist: each worker its own app server and browser); 6 min instead of 10
  # on 2 cores. The rest, CPU-bound, runs one at a time. Both halves run; either failing fails.
  status=0
  python -m pytest -n 2 tests/e2e || status=$?
  python -m pytest --ignore=tests/e2e || status=$?
  exit $status
fi

exec python -m pytest "$@"
