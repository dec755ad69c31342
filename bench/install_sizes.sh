#!/usr/bin/env bash
# Installed size of each install route, each in a fresh venv outside the repo:
#   bench/install_sizes.sh      prints MiB of site-packages per route
# Routes: core (pip install . with the CPU build of torch), +optimizer, +gpu.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
torch_wheel() {  # the CPU build: a local wheel when pip has one, else PyTorch's CPU index
  if "$1" -m pip download -q --no-deps --no-index -d "$work/wheels" 'torch==2.13.0' >/dev/null 2>&1; then
    "$1" -m pip install -q "$work"/wheels/torch-*.whl
  else
    "$1" -m pip install -q 'torch>=2.4' --index-url https://download.pytorch.org/whl/cpu
  fi
}
for route in core optimizer gpu; do
  "$PY" -m venv "$work/$route"
  vpy="$work/$route/bin/python"
  "$vpy" -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
  torch_wheel "$vpy"
  spec="$repo"; [ "$route" != core ] && spec="$repo[$route]"
  "$vpy" -m pip install -q --disable-pip-version-check "$spec"
  site=$("$vpy" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  printf '%-10s %6d MiB  (%s)\n' "$route" "$(du -sm "$site" | cut -f1)" "pip install '$spec'"
done
