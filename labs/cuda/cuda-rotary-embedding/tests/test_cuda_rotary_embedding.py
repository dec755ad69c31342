"""cuda-rotary-embedding: compiles on any machine; on a GPU, matches PyTorch and is timed.

The GPU test draws fresh random inputs every run: q and k as slices of one fused
QKV tensor (sometimes with padding columns after V), GQA head counts (32/8, 8/1,
16/2), head sizes 64 to 256, partial rotary (rot_dim < head size), NeoX and GPT-J
pairing, fp16 and bf16, random positions up to 131071. It checks the whole QKV
tensor against kernels/rotary_embedding/unit.py, so V, the padding and the dims
past rot_dim must come back untouched, then times your kernel against the
reference kernel and PyTorch.
"""
import pytest

from tui.core.labs.kernel_checks import assert_compiles, assert_matches_and_time

UNIT, FILE = "rotary_embedding", "rotary_embedding.cu"


def test_compiles(lab_dir):
    assert_compiles(lab_dir / FILE)


@pytest.mark.gpu
def test_matches_pytorch_then_timed(lab_dir):
    assert_matches_and_time(lab_dir, UNIT, FILE)
