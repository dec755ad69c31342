"""cuda-int8-gemv: compiles on any machine; on a GPU, matches PyTorch and is timed.

The GPU test draws fresh random inputs every run (batch 1 to 4, fp16 and bf16,
K not a multiple of 16 or of the unrolled step, a spare weight row after W so an
overrun reads wrong weights instead of faulting, activations of magnitude 50,
non-default per-channel scales), fills y with NaN first, compares with a float64
reference from kernels/int8_gemv/unit.py, then times your kernel against the
reference kernel and a bf16 GEMV in PyTorch at the same shape.
"""
import pytest

from tui.core.labs.kernel_checks import assert_compiles, assert_matches_and_time

UNIT, FILE = "int8_gemv", "int8_gemv.cu"


def test_compiles(lab_dir):
    assert_compiles(lab_dir / FILE)


@pytest.mark.gpu
def test_matches_pytorch_then_timed(lab_dir):
    assert_matches_and_time(lab_dir, UNIT, FILE)
