#!/usr/bin/env bash
# Set up (if needed) and serve BlockScope on http://127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m uvicorn blockscope.main:app --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}" \
    --no-server-header --timeout-keep-alive 5
