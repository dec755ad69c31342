"""cuda-silu-and-mul: compiles on any machine; on a GPU, matches PyTorch and is timed.

The GPU test draws fresh random inputs every run (fp16 and bf16, d = 1, 13, 1001,
20483 and other widths, gates scaled by 300 so exp overflows in a naive sigmoid),
fills the output with NaN first, compares with F.silu(gate) * up from
kernels/silu_and_mul/unit.py at two ulps of the dtype, then times your kernel
against the reference kernel and PyTorch.
"""
import pytest

from tui.core.labs.kernel_checks import assert_compiles, assert_matches_and_time

UNIT, FILE = "silu_and_mul", "silu_and_mul.cu"


def test_compiles(lab_dir):
    assert_compiles(lab_dir / FILE)


@pytest.mark.gpu
def test_matches_pytorch_then_timed(lab_dir):
    assert_matches_and_time(lab_dir, UNIT, FILE)
