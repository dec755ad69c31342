#!/usr/bin/env bash
# The whole GPU suite on a machine with an NVIDIA GPU:
#   scripts/gpu_suite.sh            (results in bench/results/, or $OUT when set)
# 1. pytest of the kernel units and the gpu-marked tests,
# 2. `vlearn verify` of every CUDA and Triton lab and the GPU-optional Python labs:
#    solution passes, starter fails, every kept wrong solution (mutants.yaml) is rejected,
# 3. `vlearn bench kernels --json`, saved, and printed as a table.
# Where the image lacks vlearn's pure-Python dependencies, wheels in .wheels/ (or .whl/)
# are installed into a private folder first (../shared/tools/device-wheels.sh fetches them).
set -uo pipefail
cd "$(dirname "$0")/.."
if [ -z "${PYTHON:-}" ]; then
  if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
SITE=""
for dir in .wheels .whl; do
  if ls "$dir"/*.whl >/dev/null 2>&1 && ! $PYTHON -c "import sqlite_utils" 2>/dev/null; then
    SITE=$(mktemp -d)
    $PYTHON -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$SITE" "$dir"/*.whl || exit 3
  fi
done
export PYTHONPATH="$PWD${SITE:+:$SITE}${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
export VLEARN_HOME="${VLEARN_HOME:-$(mktemp -d)}"
RESULTS="${OUT:-bench/results}"
mkdir -p "$RESULTS"
fail=0
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || { echo "no GPU"; exit 2; }
$PYTHON -c "import torch, cupy; print('torch', torch.__version__, 'cupy', cupy.__version__)"

echo "== 1. kernel unit and GPU tests"
# The GPU test files only: the rest import the app's own dependencies, which a bare image lacks.
$PYTHON -m pytest -q -o addopts="" -p no:cacheprovider $(ls tests/test_kernels_*.py tests/test_gpu_*.py) 2>&1 | tail -n 25
[ "${PIPESTATUS[0]}" -eq 0 ] || fail=1

echo "== 2. vlearn verify: CUDA, Triton and GPU-optional Python labs"
gpu_labs=$(ls -d labs/cuda/*/ labs/triton/*/ | xargs -n1 basename)
optional=$(grep -l "^gpu: optional" labs/python/*/lab.yaml 2>/dev/null | xargs -r -n1 dirname | xargs -r -n1 basename)
$PYTHON -m tui.cli verify $gpu_labs $optional || fail=1

echo "== 3. vlearn bench kernels --json"
$PYTHON -m tui.cli bench kernels --json > "$RESULTS/kernels.json" || fail=1
$PYTHON -c "import json,sys; from tui.core.bench import format_table; print(format_table(json.load(open(sys.argv[1]))))" \
  "$RESULTS/kernels.json" | tee "$RESULTS/kernels.txt"
exit $fail
