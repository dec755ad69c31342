"""cuda-sgemm: compiles on any machine; on a GPU, matches PyTorch and is timed.

The GPU test draws fresh random inputs every run, at awkward sizes (not
multiples of the block) and at the timing size, fills the outputs with NaN
first (an element your kernel never writes shows up), compares with the
PyTorch reference in kernels/sgemm/unit.py at tolerances fit for the dtype,
then times your kernel with CUDA events against the reference kernel and
PyTorch and reports the figures (no speed is asserted).
"""
import pytest

from tui.core.labs.cuda_compile import compile_file
from tui.core.labs.testing import record_perf

UNIT, FILE = "sgemm", "sgemm.cu"


def test_compiles(lab_dir):
    result = compile_file(lab_dir / FILE)
    if not result.ok:  # the compiler's own words, at your file and line
        pytest.fail(result.report(), pytrace=False)


@pytest.mark.gpu
def test_matches_pytorch_then_timed(lab_dir):
    from tui.core.labs.gpu import require_gpu

    require_gpu()
    from tui.core.bench import run_lab

    problem, figures = run_lab(lab_dir, UNIT, FILE)
    assert problem is None, problem
    record_perf(**figures)
