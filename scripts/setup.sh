#!/usr/bin/env bash
# Create .venv and install BlockScope with the CPU build of PyTorch 2.13.0; with npm, install the
# packages of package-lock.json too (Plotly's cartesian bundle, which the pages load).
# Usage: scripts/setup.sh [extra ...]   e.g. scripts/setup.sh test,bench
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# torch first, pinned: an unpinned torch can resolve to a multi-gigabyte CUDA build.
# TORCH_INDEX_URL, when set, is the index to take it from (e.g. PyTorch's CPU-only wheel index).
.venv/bin/python -m pip install -q "torch==2.13.0" ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"}
if [ -n "$extras" ]; then
    .venv/bin/python -m pip install -q -e ".[${extras}]"
else
    .venv/bin/python -m pip install -q -e .
fi
# Plotly's cartesian bundle (a third of the full one) where npm is here; without it, or offline, the
# pages load the full bundle from the Python package instead.
if command -v npm >/dev/null; then
    if [ ! -f node_modules/plotly.js-cartesian-dist-min/package.json ] \
        || [ package-lock.json -nt node_modules/.package-lock.json ]; then
        npm ci --no-audit --no-fund --loglevel=error \
            || echo "setup: npm ci failed; the pages will load Plotly's full bundle" >&2
    fi
else
    echo "setup: npm is missing; the pages will load Plotly's full bundle (install Node.js for the light one)" >&2
fi
