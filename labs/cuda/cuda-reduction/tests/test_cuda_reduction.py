"""cuda-reduction: compiles on any machine; on a GPU, matches PyTorch and is timed.

The GPU test draws fresh random inputs every run, at awkward sizes (not
multiples of the block) and at the timing size, fills the outputs with NaN
first (an element your kernel never writes shows up), compares with the
PyTorch reference in kernels/reduction/unit.py at tolerances fit for the dtype,
then times your kernel with CUDA events against the reference kernel and
PyTorch and reports the figures (no speed is asserted).
"""
import pytest

from tui.core.labs.kernel_checks import assert_compiles, assert_matches_and_time

UNIT, FILE = "reduction", "reduction.cu"


def test_compiles(lab_dir):
    assert_compiles(lab_dir / FILE)


@pytest.mark.gpu
def test_matches_pytorch_then_timed(lab_dir):
    assert_matches_and_time(lab_dir, UNIT, FILE)
