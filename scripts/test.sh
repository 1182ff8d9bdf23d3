#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite, browser tests included.
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
exec .venv/bin/python -m pytest "$@"
