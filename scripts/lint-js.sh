#!/usr/bin/env bash
# Lint and format-check the ES modules with Biome (the version pinned in package-lock.json).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v npm >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm
    else
        echo "npm is missing: install Node.js (Debian's 'nodejs' and 'npm' packages) for the JS linter." >&2
        exit 1
    fi
fi
if [ ! -x node_modules/.bin/biome ] || [ ! -f node_modules/plotly.js-cartesian-dist-min/package.json ] \
    || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
fi
echo "biome: lint and format-check the ES modules"
node_modules/.bin/biome check blockscope/static/js
