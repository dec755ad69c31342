#!/usr/bin/env bash
# Create .venv and install vlearn into it, once; later calls return at once.
#   scripts/setup.sh          the app and its test tools
# torch: on a machine without an NVIDIA GPU we install a CPU build (a local
# wheel when pip has one, else PyTorch's CPU index) instead of the default
# multi-gigabyte CUDA build; with a GPU, pip's default CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "vlearn needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)" >&2
  exit 1
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
VPY=.venv/bin/python

stamp=".venv/.vlearn-setup-$(cat pyproject.toml scripts/setup.sh | sha1sum | cut -c1-12)"
[ -f "$stamp" ] && exit 0

pip() { "$VPY" -m pip --disable-pip-version-check -q "$@"; }

have_gpu() { command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; }

if ! "$VPY" -c 'import torch' >/dev/null 2>&1; then
  if have_gpu; then
    echo "setup: NVIDIA GPU found: installing torch with CUDA"
    pip install 'torch>=2.4'
  elif tmp=$(mktemp -d) && "$VPY" -m pip download -q --no-deps --no-index -d "$tmp" 'torch==2.13.0' >/dev/null 2>&1; then
    echo "setup: no GPU: installing the local CPU build of torch"
    pip install "$tmp"/torch-*.whl
  else
    echo "setup: no GPU: installing the CPU build of torch"
    pip install 'torch>=2.4' --index-url https://download.pytorch.org/whl/cpu
  fi
fi

echo "setup: installing vlearn and its dependencies into .venv"
pip install -e '.[gpu,dev,optimizer]'
touch "$stamp"
