"""Stage 1: paged decode attention in PyTorch equals SDPA on the contiguous K/V.

Every case is adversarial (see tests/conftest.py): scattered blocks, lengths that
end mid-block, NaN in every slot no sequence owns, block-table leftovers that
point at NaN blocks or at other sequences' blocks, and K/V views into a K|V
buffer in both of vLLM's physical orders.
"""
import math

import pytest
import torch
from conftest import LAYOUTS, check_output, make_case, two_kv_heads_of_opposite_sign

from tui.core.labs.testing import load_lab_module

RAGGED = [1, 15, 16, 17, 5 * 16 + 3, 32]


@pytest.fixture
def ref(lab_dir):
    return load_lab_module(lab_dir, "reference.py").paged_decode_reference


def run(ref, case, scale):
    return ref(case.q, case.k_cache, case.v_cache, case.block_tables, case.seq_lens, scale)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("heads,kv_heads", [(8, 8), (8, 2), (8, 1)], ids=["MHA", "GQA", "MQA"])
def test_fp32_ragged_lengths_match_sdpa(ref, heads, kv_heads, layout):
    case = make_case(RAGGED, num_heads=heads, num_kv_heads=kv_heads, head_size=32, layout=layout, seed=1)
    check_output(run(ref, case, 32 ** -0.5), case, 32 ** -0.5, "paged_decode_reference")


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=["fp16", "bf16"])
def test_half_precision_inputs(ref, dtype):
    case = make_case(RAGGED, num_heads=8, num_kv_heads=2, head_size=64, dtype=dtype, layout="HND", seed=2)
    check_output(run(ref, case, 0.125), case, 0.125, "paged_decode_reference")


@pytest.mark.parametrize("block_size", [1, 5, 16])
def test_block_sizes_that_do_not_divide_the_lengths(ref, block_size):
    case = make_case([7, 23, 2], block_size=block_size, num_heads=6, num_kv_heads=3, head_size=16, seed=3)
    check_output(run(ref, case, 0.25), case, 0.25, "paged_decode_reference")


def test_one_cached_token_returns_its_value(ref):
    case = make_case([1], num_heads=4, num_kv_heads=2, head_size=8, seed=4)
    out = run(ref, case, 0.3)
    torch.testing.assert_close(out[0], case.dense_v[0][0].repeat_interleave(2, dim=0))


def test_gqa_query_head_h_reads_kv_head_h_div_group(ref):
    case = make_case([3, 20], block_size=4, num_heads=4, num_kv_heads=2, head_size=4, seed=5)
    two_kv_heads_of_opposite_sign(case)
    out = run(ref, case, 1.0)
    expected = torch.tensor([1.0, 1.0, -1.0, -1.0])[None, :, None].expand(2, 4, 4)
    assert torch.allclose(out, expected, atol=1e-5), (
        f"query heads 0..3 should read KV heads 0, 0, 1, 1 (h // group); got per-head outputs {out[:, :, 0].tolist()}")


@pytest.mark.parametrize("scale", [1.0, 0.02, 0.5])
def test_scale_is_applied(ref, scale):
    case = make_case([9, 40], num_heads=4, num_kv_heads=4, head_size=16, seed=6, q_scale=2.0)
    check_output(run(ref, case, scale), case, scale, f"paged_decode_reference with scale {scale}")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16], ids=["fp32", "fp16"])
def test_large_logits_need_the_max_subtracted(ref, dtype):
    # Scores of several hundred: exp() overflows unless each row's max is subtracted first.
    case = make_case([5, 37, 16], num_heads=4, num_kv_heads=2, head_size=32, dtype=dtype, seed=7, q_scale=40.0)
    check_output(run(ref, case, 1.0), case, 1.0, "paged_decode_reference with scores in the hundreds",
                 tol=(1e-4, 1e-4) if dtype == torch.float32 else None)


def test_positions_come_from_the_block_table(ref):
    # Same two blocks in the other order: a sequence of 20 tokens now reads the other block first.
    case = make_case([32, 20], num_heads=2, num_kv_heads=1, head_size=8, seed=8)
    swapped = case.block_tables.clone()
    swapped[1, 0], swapped[1, 1] = case.block_tables[0, 0], case.block_tables[0, 1]
    a = ref(case.q, case.k_cache, case.v_cache, swapped, case.seq_lens, 0.5)
    case.dense_k[1], case.dense_v[1] = case.dense_k[0][:20], case.dense_v[0][:20]
    check_output(a, case, 0.5, "paged_decode_reference after pointing sequence 1 at sequence 0's blocks")


def test_inputs_are_not_modified(ref):
    case = make_case([13, 30], num_heads=4, num_kv_heads=2, head_size=8, seed=9)
    before = [t.clone() for t in (case.q, case.k_cache, case.block_tables, case.seq_lens)]
    run(ref, case, 0.5)
    for old, new in zip(before, (case.q, case.k_cache, case.block_tables, case.seq_lens), strict=True):
        assert torch.equal(old.nan_to_num(7.0), new.nan_to_num(7.0)), "the inputs changed"


@pytest.mark.parametrize("seed", range(4))
def test_random_shapes(ref, seed):
    import random

    r = random.Random(seed)
    kv = r.choice([1, 2, 3])
    case = make_case([r.randint(1, 50) for _ in range(r.randint(1, 4))], block_size=r.choice([2, 3, 8, 16]),
                     num_heads=kv * r.choice([1, 2, 4]), num_kv_heads=kv, head_size=r.choice([8, 12]),
                     layout=r.choice(LAYOUTS), seed=100 + seed)
    scale = r.uniform(0.05, 1.0)
    check_output(run(ref, case, scale), case, scale, "paged_decode_reference")


def test_scale_default_is_not_assumed(ref):
    # 1/sqrt(head_size) is the usual scale, but the caller decides (models fold other factors in).
    case = make_case([10], num_heads=2, num_kv_heads=2, head_size=16, seed=10, q_scale=3.0)
    a, b = run(ref, case, 1 / math.sqrt(16)), run(ref, case, 0.9)
    assert not torch.allclose(a, b), "the result ignores the scale argument"
