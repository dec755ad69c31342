"""Stage 2: the Triton decode kernel equals SDPA on the contiguous K/V.

Without a GPU it runs under Triton's interpreter (TRITON_INTERPRET=1), so the
sizes are tiny; with one it runs natively. Same adversarial cases as stage 1,
plus head sizes that are not powers of two and block sizes unequal to the tile.
"""
import pytest
import torch
from conftest import check_output, make_case, two_kv_heads_of_opposite_sign

from tui.core.labs.testing import load_lab_module

GPU = torch.cuda.is_available()
DEVICE = "cuda" if GPU else "cpu"


@pytest.fixture
def triton_decode(lab_dir, monkeypatch):
    if not GPU:
        monkeypatch.setenv("TRITON_INTERPRET", "1")  # before the module's @triton.jit runs
    pytest.importorskip("triton", reason="Triton is not installed (pip install triton)")
    return load_lab_module(lab_dir, "triton_decode.py").paged_decode_triton


def run(fn, case, scale):
    return fn(case.q, case.k_cache, case.v_cache, case.block_tables, case.seq_lens, scale)


def case(lens, **kw):
    return make_case(lens, device=DEVICE, **kw)


@pytest.mark.parametrize("heads,kv_heads,layout", [(4, 2, "NHD"), (4, 2, "HND"), (2, 2, "NHD"), (2, 1, "HND")],
                         ids=["GQA-NHD", "GQA-HND", "MHA-NHD", "MQA-HND"])
def test_ragged_lengths_match_sdpa(triton_decode, heads, kv_heads, layout):
    c = case([1, 16, 17, 35], block_size=8, num_heads=heads, num_kv_heads=kv_heads, head_size=16,
             layout=layout, seed=11)
    check_output(run(triton_decode, c, 0.25), c, 0.25, "paged_decode_triton")


def test_fp16(triton_decode):
    c = case([3, 16, 33], block_size=16, num_heads=4, num_kv_heads=2, head_size=32, dtype=torch.float16,
             layout="HND", seed=12)
    check_output(run(triton_decode, c, 32 ** -0.5), c, 32 ** -0.5, "paged_decode_triton (fp16)")


@pytest.mark.parametrize("block_size", [3, 32])
def test_block_size_unequal_to_the_tile(triton_decode, block_size):
    c = case([2, 19, 40], block_size=block_size, num_heads=2, num_kv_heads=1, head_size=8, seed=13)
    check_output(run(triton_decode, c, 0.3), c, 0.3, f"paged_decode_triton with block_size {block_size}")


def test_head_size_not_a_power_of_two(triton_decode):
    c = case([5, 21], block_size=4, num_heads=2, num_kv_heads=2, head_size=24, seed=14)
    check_output(run(triton_decode, c, 0.2), c, 0.2, "paged_decode_triton with head_size 24")


def test_gqa_query_head_h_reads_kv_head_h_div_group(triton_decode):
    c = case([3, 20], block_size=4, num_heads=4, num_kv_heads=2, head_size=4, seed=15)
    two_kv_heads_of_opposite_sign(c)
    out = run(triton_decode, c, 1.0).cpu()
    expected = torch.tensor([1.0, 1.0, -1.0, -1.0])[None, :, None].expand(2, 4, 4)
    assert torch.allclose(out, expected, atol=1e-5), (
        f"query heads 0..3 should read KV heads 0, 0, 1, 1 (h // group); got per-head outputs {out[:, :, 0].tolist()}")


@pytest.mark.parametrize("scale", [1.0, 0.03])
def test_scale_is_applied(triton_decode, scale):
    c = case([9, 26], block_size=8, num_heads=2, num_kv_heads=2, head_size=16, seed=16, q_scale=2.0)
    check_output(run(triton_decode, c, scale), c, scale, f"paged_decode_triton with scale {scale}")


def test_large_logits_need_the_max_subtracted(triton_decode):
    # Scores of several hundred, spread over several tiles: the running max must rescale acc and l.
    c = case([5, 37], block_size=8, num_heads=2, num_kv_heads=1, head_size=16, seed=17, q_scale=40.0)
    check_output(run(triton_decode, c, 1.0), c, 1.0, "paged_decode_triton with scores in the hundreds", tol=(1e-4, 1e-4))


def test_positions_come_from_the_block_table(triton_decode):
    c = case([32, 20], block_size=16, num_heads=2, num_kv_heads=1, head_size=8, seed=18)
    swapped = c.block_tables.clone()
    swapped[1, 0], swapped[1, 1] = c.block_tables[0, 0], c.block_tables[0, 1]
    out = triton_decode(c.q, c.k_cache, c.v_cache, swapped, c.seq_lens, 0.5)
    c.dense_k[1], c.dense_v[1] = c.dense_k[0][:20], c.dense_v[0][:20]
    check_output(out, c, 0.5, "paged_decode_triton after pointing sequence 1 at sequence 0's blocks")

