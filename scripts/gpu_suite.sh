#!/usr/bin/env bash
# The whole GPU suite, then the kernel bench, on a machine with an NVIDIA GPU:
#   scripts/gpu_suite.sh            (results in bench/results/, or $OUT when set)
# 1. pytest of the kernel units and GPU helpers (gpu-marked tests included),
# 2. every CUDA and Triton lab: solution must pass, starter must fail,
# 3. `vlearn bench kernels --json`, saved, and printed as a table.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ -z "${PYTHON:-}" ]; then
  if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
export VLEARN_HOME="${VLEARN_HOME:-$(mktemp -d)}"
RESULTS="${OUT:-bench/results}"
mkdir -p "$RESULTS"
fail=0
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || { echo "no GPU"; exit 2; }
$PYTHON -c "import torch, cupy; print('torch', torch.__version__, 'cupy', cupy.__version__)"

echo "== 1. kernel unit and GPU tests"
$PYTHON -m pytest -q -o addopts="" -p no:cacheprovider $(ls tests/test_kernels_*.py tests/test_gpu_*.py 2>/dev/null) 2>&1 | tail -n 25 || fail=1

echo "== 2. labs: solution passes, starter fails"
for lab in labs/cuda/*/ labs/triton/*/; do
  [ -d "$lab/tests" ] || continue
  for which in solution starter; do
    VLEARN_LAB_DIR="$PWD/$lab$which" $PYTHON -m pytest -q -o addopts="" -p no:cacheprovider \
      -p tui.core.labs.testing "$lab/tests" > "$RESULTS/lab.log" 2>&1
    rc=$?
    if [ $which = solution ] && [ $rc -ne 0 ]; then echo "FAIL $lab solution"; tail -n 15 "$RESULTS/lab.log"; fail=1
    elif [ $which = starter ] && [ $rc -eq 0 ]; then echo "FAIL $lab starter passes"; fail=1
    else echo "ok   $lab $which (rc $rc)"; fi
  done
done

echo "== 3. vlearn bench kernels --json"
$PYTHON -m tui.cli.bench kernels --json > "$RESULTS/kernels.json" || fail=1
$PYTHON -c "import json,sys; from tui.core.bench import format_table; print(format_table(json.load(open(sys.argv[1]))))" \
  "$RESULTS/kernels.json" | tee "$RESULTS/kernels.txt"
exit $fail
