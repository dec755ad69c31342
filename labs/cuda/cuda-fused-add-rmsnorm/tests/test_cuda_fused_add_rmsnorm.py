"""cuda-fused-add-rmsnorm: compiles on any machine; on a GPU, matches PyTorch and is timed.

The GPU test draws fresh random inputs every run (fp16 and bf16, odd widths,
x as a strided view, a row that sums to zero, large-mean rows, scales small
enough that values saturate at +-448), fills the FP8 output with NaN first,
compares out and the in-place residual with the PyTorch reference in
kernels/fused_add_rmsnorm_fp8/unit.py (one E4M3 step of tolerance), then
times your kernel against the reference kernel and the unfused PyTorch chain.
"""
import pytest

from tui.core.labs.kernel_checks import assert_compiles, assert_matches_and_time

UNIT, FILE = "fused_add_rmsnorm_fp8", "fused_add_rmsnorm_fp8.cu"


def test_compiles(lab_dir):
    assert_compiles(lab_dir / FILE)


@pytest.mark.gpu
def test_matches_pytorch_then_timed(lab_dir):
    assert_matches_and_time(lab_dir, UNIT, FILE)
