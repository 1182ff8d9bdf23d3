#!/usr/bin/env bash
# On a machine with a CUDA GPU: every CUDA test, then the latency benchmark on the GPU, in one go.
# Usage: bash scripts/gpu_check.sh
#   Sets up .venv first, unless PYTHON names an interpreter that already has BlockScope's packages
#   (e.g. a machine's own CUDA build of PyTorch: PYTHON=python3 bash scripts/gpu_check.sh).
# The CUDA tests skip where no GPU is seen.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${PYTHON:-}" ]; then
    bash scripts/setup.sh test,bench
    PYTHON=.venv/bin/python
fi
"$PYTHON" - <<'PY'
import torch
print(f"torch {torch.__version__}, CUDA available: {torch.cuda.is_available()}")
for i in range(torch.cuda.device_count()):
    print(f"cuda:{i}: {torch.cuda.get_device_name(i)}")
PY
echo "== CUDA tests"
BLOCKSCOPE_MEASURER=inline "$PYTHON" -m pytest -q -m cuda -p no:cacheprovider --ignore=tests/browser tests -rs
echo "== latency on cuda:0 against torch.utils.benchmark (through the measuring process)"
"$PYTHON" scripts/bench_latency.py --device cuda:0 --rounds 3
