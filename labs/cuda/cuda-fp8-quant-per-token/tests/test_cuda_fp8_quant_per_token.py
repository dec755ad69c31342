"""cuda-fp8-quant-per-token: compiles on any machine; on a GPU, matches PyTorch and is timed.

The GPU test draws fresh random inputs every run (fp16 and bf16, x as a strided
view, a row of zeros, a row of huge magnitudes, a single negative outlier, scale
upper bounds below and above the absmax), fills the FP8 output and the scales
with NaN first, compares with kernels/fp8_quant_per_token/unit.py (one E4M3
step), then times your kernel against the reference kernel and PyTorch.
"""
import pytest

from tui.core.labs.kernel_checks import assert_compiles, assert_matches_and_time

UNIT, FILE = "fp8_quant_per_token", "fp8_quant_per_token.cu"


def test_compiles(lab_dir):
    assert_compiles(lab_dir / FILE)


@pytest.mark.gpu
def test_matches_pytorch_then_timed(lab_dir):
    assert_matches_and_time(lab_dir, UNIT, FILE)
