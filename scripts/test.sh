#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite: the linters, then every test, browser tests included.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test,bench
if [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
    else
        echo "Chromium (/usr/bin/chromium) is missing: install Debian's 'chromium' package for the browser tests." >&2
    fi
fi
echo "ruff: lint the Python code"
.venv/bin/ruff check blockscope tests scripts
bash scripts/lint-js.sh
exec .venv/bin/python -m pytest "$@"
