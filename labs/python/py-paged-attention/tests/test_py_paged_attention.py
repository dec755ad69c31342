"""Tests for py-paged-attention: paged results equal a dense float64 reference."""
import math

import pytest
import torch
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tui.core.labs.testing import examples, load_lab_module

SETTINGS = settings(
    max_examples=examples(15),
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    phases=[Phase.explicit, Phase.generate],  # no shrinking: fail fast inside the time limit
)
BS = 16


@pytest.fixture
def pa(lab_dir):
    return load_lab_module(lab_dir, "paged_attention.py")


def make_case(seq_lens, block_size, num_heads, num_kv_heads, head_size, dtype, seed, spare_blocks=3):
    """A cache full of NaN (stale memory), each sequence's K/V scattered over
    shuffled, non-contiguous blocks; block tables padded with 0 (the null block)."""
    g = torch.Generator().manual_seed(seed)
    per_seq = [math.ceil(n / block_size) for n in seq_lens]
    num_blocks = 1 + sum(per_seq) + spare_blocks
    order = (torch.randperm(num_blocks - 1, generator=g) + 1).tolist()
    shape = (num_blocks, block_size, num_kv_heads, head_size)
    k_cache = torch.full(shape, float("nan"), dtype=dtype)
    v_cache = torch.full(shape, float("nan"), dtype=dtype)
    tables = torch.zeros(len(seq_lens), max(per_seq) + 1, dtype=torch.int32)  # one extra padded column
    dense_k, dense_v = [], []
    for b, n in enumerate(seq_lens):
        ids = [order.pop() for _ in range(per_seq[b])]
        tables[b, : len(ids)] = torch.tensor(ids, dtype=torch.int32)
        k = torch.randn(n, num_kv_heads, head_size, generator=g).to(dtype)
        v = torch.randn(n, num_kv_heads, head_size, generator=g).to(dtype)
        for t in range(n):
            k_cache[ids[t // block_size], t % block_size] = k[t]
            v_cache[ids[t // block_size], t % block_size] = v[t]
        dense_k.append(k)
        dense_v.append(v)
    q = torch.randn(len(seq_lens), num_heads, head_size, generator=g).to(dtype)
    return q, k_cache, v_cache, tables, torch.tensor(seq_lens, dtype=torch.int32), dense_k, dense_v


def dense_reference(q, dense_k, dense_v, scale):
    """Plain softmax attention over contiguous K/V, in float64."""
    outs = []
    for b in range(q.shape[0]):
        group = q.shape[1] // dense_k[b].shape[1]
        k = dense_k[b].double().repeat_interleave(group, dim=1)  # [T, H, D]
        v = dense_v[b].double().repeat_interleave(group, dim=1)
        scores = torch.einsum("hd,thd->ht", q[b].double(), k) * scale
        outs.append(torch.einsum("ht,thd->hd", scores.softmax(-1), v))
    return torch.stack(outs)


RAGGED = [1, BS - 1, BS, BS + 1, 5 * BS + 3, 2 * BS]


@pytest.mark.parametrize("num_heads,num_kv_heads", [(8, 8), (8, 2), (8, 1)], ids=["MHA", "GQA", "MQA"])
def test_fp32_matches_dense_on_ragged_lengths(pa, num_heads, num_kv_heads):
    q, kc, vc, tables, lens, dk, dv = make_case(RAGGED, BS, num_heads, num_kv_heads, 64, torch.float32, seed=1)
    scale = 1 / math.sqrt(64)
    out = pa.paged_decode_attention(q, kc, vc, tables, lens, scale)
    assert out.shape == (len(RAGGED), num_heads, 64) and out.dtype == torch.float32
    assert torch.isfinite(out).all(), "stale NaN slots leaked into the result"
    torch.testing.assert_close(out.double(), dense_reference(q, dk, dv, scale), atol=1e-5, rtol=1e-5)


def test_fp16_matches_dense_looser(pa):
    q, kc, vc, tables, lens, dk, dv = make_case(RAGGED, BS, 8, 2, 128, torch.float16, seed=2)
    scale = 1 / math.sqrt(128)
    out = pa.paged_decode_attention(q, kc, vc, tables, lens, scale)
    assert out.dtype == torch.float16
    torch.testing.assert_close(out.double(), dense_reference(q, dk, dv, scale), atol=5e-3, rtol=5e-3)


def test_single_token_returns_its_value(pa):
    # One cached token: softmax over one score is 1, the output is V itself, for every query head.
    q, kc, vc, tables, lens, dk, dv = make_case([1], BS, 4, 2, 8, torch.float32, seed=3)
    out = pa.paged_decode_attention(q, kc, vc, tables, lens, 0.125)
    torch.testing.assert_close(out[0], dv[0][0].repeat_interleave(2, dim=0), atol=1e-6, rtol=0)


def test_scale_is_used(pa):
    q, kc, vc, tables, lens, dk, dv = make_case([BS + 5, 7], BS, 4, 4, 32, torch.float32, seed=4)
    for scale in (1.0, 0.01, 0.3):
        out = pa.paged_decode_attention(q, kc, vc, tables, lens, scale)
        torch.testing.assert_close(out.double(), dense_reference(q, dk, dv, scale), atol=1e-5, rtol=1e-5)


def test_gqa_head_mapping_is_grouped_not_strided(pa):
    # KV head 0 holds V = +1, KV head 1 holds V = -1: query heads 0,1 -> +1, heads 2,3 -> -1.
    q, kc, vc, tables, lens, dk, dv = make_case([3], 4, 4, 2, 2, torch.float32, seed=5)
    blk = int(tables[0, 0])
    vc[blk, :3, 0] = 1.0
    vc[blk, :3, 1] = -1.0
    out = pa.paged_decode_attention(q, kc, vc, tables, lens, 1.0)
    expected = torch.tensor([1.0, 1.0, -1.0, -1.0])[:, None].expand(4, 2)
    torch.testing.assert_close(out[0], expected)


def test_block_table_order_matters(pa):
    # Same blocks, two orders: positions come from the table, not from block ids.
    q, kc, vc, tables, lens, dk, dv = make_case([2 * BS], BS, 2, 1, 16, torch.float32, seed=6)
    swapped = tables.clone()
    swapped[0, 0], swapped[0, 1] = tables[0, 1], tables[0, 0]
    a = pa.paged_decode_attention(q, kc, vc, tables, lens, 0.25)
    b = pa.paged_decode_attention(q, kc, vc, swapped, lens, 0.25)
    # Attention is permutation-invariant over keys, so equal outputs are expected here...
    torch.testing.assert_close(a, b)
    # ...but a sequence that ends mid-block must read only the first block's tokens.
    short = torch.tensor([BS], dtype=torch.int32)
    c = pa.paged_decode_attention(q, kc, vc, tables, short, 0.25)
    d = pa.paged_decode_attention(q, kc, vc, swapped, short, 0.25)
    torch.testing.assert_close(c.double(), dense_reference(q, [dk[0][:BS]], [dv[0][:BS]], 0.25), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(d.double(), dense_reference(q, [dk[0][BS:]], [dv[0][BS:]], 0.25), atol=1e-5, rtol=1e-5)


def test_write_kv_then_attend(pa):
    seq_lens = [BS + 1, 3]
    q, kc, vc, tables, lens, dk, dv = make_case(seq_lens, BS, 4, 2, 16, torch.float32, seed=7)
    kc.fill_(float("nan"))
    vc.fill_(float("nan"))
    # Prefill both sequences in one flat batch, with two padding tokens in the middle.
    slots, keys, values = [], [], []
    for b, n in enumerate(seq_lens):
        for t in range(n):
            slots.append(int(tables[b, t // BS]) * BS + t % BS)
            keys.append(dk[b][t])
            values.append(dv[b][t])
        slots.append(-1)
        keys.append(torch.full_like(dk[b][0], 1e4))  # padding rows must not land anywhere
        values.append(torch.full_like(dv[b][0], 1e4))
    # Extra rows beyond slot_mapping (CUDA-graph padding) are ignored too.
    extra = torch.full((3, 2, 16), 7e3)
    key = torch.cat([torch.stack(keys), extra])
    value = torch.cat([torch.stack(values), extra])
    pa.write_kv(key, value, kc, vc, torch.tensor(slots, dtype=torch.int64))
    out = pa.paged_decode_attention(q, kc, vc, tables, lens, 0.25)
    torch.testing.assert_close(out.double(), dense_reference(q, dk, dv, 0.25), atol=1e-5, rtol=1e-5)
    # Only real slots were written: exactly sum(seq_lens) finite rows in the cache.
    assert int(torch.isfinite(kc[..., 0, 0]).sum()) == sum(seq_lens)
    assert float(kc.nan_to_num(0).abs().max()) < 100


def test_write_kv_decode_step_into_existing_cache(pa):
    q, kc, vc, tables, lens, dk, dv = make_case([BS], BS, 2, 2, 8, torch.float32, seed=8)
    before = kc.clone()
    new_k = torch.randn(1, 2, 8, generator=torch.Generator().manual_seed(9))
    slot = int(tables[0, 1]) * BS + 0  # token BS goes to offset 0 of the second block
    pa.write_kv(new_k, new_k, kc, vc, torch.tensor([slot]))
    torch.testing.assert_close(kc[int(tables[0, 1]), 0], new_k[0])
    changed = ~((kc == before) | (kc.isnan() & before.isnan()))
    assert int(changed.any(dim=(2, 3)).sum()) == 1  # exactly one slot changed


def test_write_kv_rejects_slot_past_end(pa):
    kc = torch.zeros(2, 4, 1, 2)
    with pytest.raises((ValueError, IndexError)):
        pa.write_kv(torch.ones(1, 1, 2), torch.ones(1, 1, 2), kc, kc.clone(), torch.tensor([8]))


def test_write_kv_converts_dtype(pa):
    kc = torch.zeros(2, 4, 1, 2, dtype=torch.float16)
    vc = torch.zeros_like(kc)
    pa.write_kv(torch.full((1, 1, 2), 0.5), torch.full((1, 1, 2), 0.25), kc, vc, torch.tensor([5]))
    assert kc[1, 1, 0, 0].item() == 0.5 and vc[1, 1, 0, 1].item() == 0.25 and kc.dtype == torch.float16


@SETTINGS
@given(
    seq_lens=st.lists(st.integers(1, 40), min_size=1, max_size=3),
    block_size=st.sampled_from([1, 2, 8, 16]),
    kv_heads=st.sampled_from([1, 2]),
    group=st.sampled_from([1, 3]),
    seed=st.integers(0, 2**16),
)
def test_random_shapes_match_dense(pa, seq_lens, block_size, kv_heads, group, seed):
    q, kc, vc, tables, lens, dk, dv = make_case(seq_lens, block_size, kv_heads * group, kv_heads, 8, torch.float32, seed)
    out = pa.paged_decode_attention(q, kc, vc, tables, lens, 0.35)
    torch.testing.assert_close(out.double(), dense_reference(q, dk, dv, 0.35), atol=1e-5, rtol=1e-5)
