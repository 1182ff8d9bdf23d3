#!/usr/bin/env bash
# Create .venv and install BlockScope with the CPU build of PyTorch 2.13.0.
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
