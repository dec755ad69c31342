"""cuda-tensor-core-gemm: compiles on any machine; on a GPU, matches PyTorch and is timed.

The GPU test draws fresh random inputs every run (fp16 and bf16; M and N not
multiples of the 128 tile, odd N, K a multiple of 8 but not of 32; inputs of
magnitude 8; a row of NaN after A and after B so reading past K or past the last
row poisons the result), fills C with NaN first, compares with a float64
reference from kernels/tc_gemm/unit.py, then times your kernel against the
reference kernel and cuBLAS (torch.matmul). Correctness is the pass line; the
0.5 x cuBLAS target is reported as met or not.
"""
import pytest

from tui.core.labs.kernel_checks import assert_compiles, assert_matches_and_time

UNIT, FILE = "tc_gemm", "tc_gemm.cu"


def test_compiles(lab_dir):
    assert_compiles(lab_dir / FILE)


@pytest.mark.gpu
def test_matches_pytorch_then_timed(lab_dir):
    assert_matches_and_time(lab_dir, UNIT, FILE)
