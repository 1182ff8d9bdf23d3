#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite: the linters, then every test, browser tests included.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test,bench
# Debian's Chromium (browser tests) and nginx (the class setup's tests); with CI set, a missing one
# fails its tests rather than skipping them
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
    else
        echo "Missing: ${missing[*]}: install Debian's packages of that name for the browser and class-setup tests." >&2
    fi
fi
echo "ruff: lint the Python code"
.venv/bin/ruff check blockscope tests scripts deploy
bash scripts/lint-js.sh
exec .venv/bin/python -m pytest "$@"
