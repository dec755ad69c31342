"""Tests for py-kv-cache-sizing. Expected figures are worked out by hand in README.md."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tui.core.labs.testing import examples, load_lab_module

# Deterministic, no example database on disk, fixture reuse is fine (read-only).
SETTINGS = settings(
    max_examples=examples(60),
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
GIB = 2**30


@pytest.fixture
def kv(lab_dir):
    return load_lab_module(lab_dir, "kv_sizing.py")


def llama3_8b(kv, dtype="bf16"):
    return kv.ModelConfig(num_layers=32, num_heads=32, num_kv_heads=8, head_dim=128, kv_dtype=dtype)


def llama3_70b(kv, dtype="bf16"):
    return kv.ModelConfig(num_layers=80, num_heads=64, num_kv_heads=8, head_dim=128, kv_dtype=dtype)


def test_llama3_8b_bytes_per_token_bf16(kv):
    # 32 layers x 2 (K and V) x 8 heads x 128 dims x 2 bytes
    assert kv.kv_bytes_per_token(llama3_8b(kv)) == 131072


@pytest.mark.parametrize("dtype,expected", [("fp32", 262144), ("fp16", 131072), ("bf16", 131072), ("fp8", 65536)])
def test_dtype_scales_bytes(kv, dtype, expected):
    assert kv.kv_bytes_per_token(llama3_8b(kv, dtype)) == expected


def test_mha_gqa_mqa(kv):
    mha = kv.ModelConfig(num_layers=32, num_heads=32, num_kv_heads=32, head_dim=128, kv_dtype="fp16")
    mqa = kv.ModelConfig(num_layers=32, num_heads=32, num_kv_heads=1, head_dim=128, kv_dtype="fp16")
    assert kv.attention_kind(mha) == "MHA"
    assert kv.attention_kind(llama3_8b(kv)) == "GQA"
    assert kv.attention_kind(mqa) == "MQA"
    # Llama-2-7B-shaped MHA costs 4x the GQA model; MQA 1/8 of GQA.
    assert kv.kv_bytes_per_token(mha) == 524288
    assert kv.kv_bytes_per_token(mqa) == 16384


def test_single_head_model_is_mha_not_mqa(kv):
    cfg = kv.ModelConfig(num_layers=2, num_heads=1, num_kv_heads=1, head_dim=64)
    assert kv.attention_kind(cfg) == "MHA"


def test_bytes_per_block(kv):
    assert kv.kv_bytes_per_block(llama3_8b(kv), 16) == 2 * 1024 * 1024
    assert kv.kv_bytes_per_block(llama3_8b(kv, "fp8"), 32) == 2 * 1024 * 1024


@pytest.mark.parametrize(
    "tokens,block,expected",
    [(0, 16, 0), (1, 16, 1), (15, 16, 1), (16, 16, 1), (17, 16, 2), (32, 16, 2), (33, 16, 3), (8192, 16, 512), (5, 1, 5)],
)
def test_blocks_round_up(kv, tokens, block, expected):
    assert kv.blocks_per_sequence(tokens, block) == expected


def test_70b_tensor_parallel_heads(kv):
    cfg = llama3_70b(kv)
    assert kv.kv_bytes_per_token(cfg) == 327680
    assert kv.kv_heads_per_gpu(cfg, 4) == 2
    assert kv.kv_bytes_per_token(cfg, tp_size=4) == 81920
    assert kv.kv_bytes_per_token(cfg, tp_size=8) == 40960
    # TP 16 > 8 KV heads: each rank keeps a replica of one head, bytes do not halve again.
    assert kv.kv_heads_per_gpu(cfg, 16) == 1
    assert kv.kv_bytes_per_token(cfg, tp_size=16) == 40960


def test_mqa_is_replicated_under_tp(kv):
    mqa = kv.ModelConfig(num_layers=32, num_heads=32, num_kv_heads=1, head_dim=128, kv_dtype="fp16")
    assert kv.kv_bytes_per_token(mqa, tp_size=8) == kv.kv_bytes_per_token(mqa)


def test_budget_uses_ceil_of_utilization(kv):
    # ceil(80 GiB x 0.92) = 79027398247 bytes (the product is 79027398246.4...)
    assert kv.kv_cache_budget_bytes(80 * GIB, 0.92, 0, 0) == 79027398247
    assert kv.kv_cache_budget_bytes(80 * GIB, 0.92, 16_060_000_000, 4 * GIB) == 58672430951
    assert kv.kv_cache_budget_bytes(1000, 1.0, 100, 0) == 900


def test_llama3_8b_on_one_h100(kv):
    cfg = llama3_8b(kv)
    budget = kv.kv_cache_budget_bytes(80 * GIB, 0.92, 16_060_000_000, 4 * GIB)
    assert kv.num_gpu_blocks(cfg, 16, budget) == 27977
    n = kv.max_concurrent_sequences(
        cfg, block_size=16, seq_len=8192, total_gpu_bytes=80 * GIB,
        gpu_memory_utilization=0.92, weight_bytes=16_060_000_000, activation_bytes=4 * GIB,
    )
    assert n == 54  # 27976 usable blocks // 512 blocks per sequence


def test_llama3_70b_tp4_per_gpu(kv):
    n = kv.max_concurrent_sequences(
        llama3_70b(kv), block_size=16, seq_len=8192, total_gpu_bytes=80 * GIB,
        gpu_memory_utilization=0.92, weight_bytes=35_300_000_000, activation_bytes=4 * GIB, tp_size=4,
    )
    assert n == 58  # 30084 blocks of 1310720 bytes, 30083 usable, 512 per sequence


def test_null_block_and_round_up_both_count(kv):
    # Tiny model: 1 layer, 1 KV head, head_dim 1, fp32 -> 8 bytes per token, 32 per block of 4.
    cfg = kv.ModelConfig(num_layers=1, num_heads=1, num_kv_heads=1, head_dim=1, kv_dtype="fp32")
    common = dict(block_size=4, total_gpu_bytes=320, gpu_memory_utilization=1.0, weight_bytes=0, activation_bytes=0)
    # 10 blocks, 9 usable. seq_len 5 needs 2 blocks (not 1.25) -> 4 sequences, not 7.
    assert kv.max_concurrent_sequences(cfg, seq_len=5, **common) == 4
    assert kv.max_concurrent_sequences(cfg, seq_len=4, **common) == 9
    assert kv.max_concurrent_sequences(cfg, seq_len=36, **common) == 1
    with pytest.raises(ValueError):
        kv.max_concurrent_sequences(cfg, seq_len=37, **common)  # needs 10 blocks, 9 usable


@pytest.mark.parametrize(
    "fields",
    [
        dict(num_layers=0, num_heads=32, num_kv_heads=8, head_dim=128),
        dict(num_layers=32, num_heads=32, num_kv_heads=0, head_dim=128),
        dict(num_layers=32, num_heads=32, num_kv_heads=8, head_dim=-128),
        dict(num_layers=32, num_heads=32, num_kv_heads=6, head_dim=128),  # 32 % 6 != 0
        dict(num_layers=32, num_heads=8, num_kv_heads=32, head_dim=128),  # more KV heads than Q heads
        dict(num_layers=32, num_heads=32, num_kv_heads=8, head_dim=128, kv_dtype="int4"),
        dict(num_layers=32.0, num_heads=32, num_kv_heads=8, head_dim=128),
    ],
)
def test_invalid_configs_raise(kv, fields):
    with pytest.raises(ValueError):
        kv.kv_bytes_per_token(kv.ModelConfig(**fields))


@pytest.mark.parametrize("tp", [0, -1, 3, 5])
def test_invalid_tp_raises(kv, tp):
    with pytest.raises(ValueError):
        kv.kv_bytes_per_token(llama3_8b(kv), tp_size=tp)


def test_invalid_block_and_tokens_raise(kv):
    with pytest.raises(ValueError):
        kv.kv_bytes_per_block(llama3_8b(kv), 0)
    with pytest.raises(ValueError):
        kv.blocks_per_sequence(10, 0)
    with pytest.raises(ValueError):
        kv.blocks_per_sequence(-1, 16)


@pytest.mark.parametrize("util", [0.0, -0.1, 1.01])
def test_invalid_utilization_raises(kv, util):
    with pytest.raises(ValueError):
        kv.kv_cache_budget_bytes(80 * GIB, util, 0, 0)


def test_weights_that_do_not_fit_raise(kv):
    with pytest.raises(ValueError):
        kv.kv_cache_budget_bytes(80 * GIB, 0.5, 40 * GIB, 0)  # nothing left
    with pytest.raises(ValueError):
        kv.kv_cache_budget_bytes(80 * GIB, 0.9, -1, 0)


configs = st.builds(
    dict,
    layers=st.integers(1, 128),
    kv_heads=st.sampled_from([1, 2, 4, 8, 16]),
    group=st.sampled_from([1, 2, 4, 8]),
    head_dim=st.sampled_from([64, 80, 96, 128, 256]),
    dtype=st.sampled_from(["fp32", "fp16", "bf16", "fp8"]),
)


@SETTINGS
@given(c=configs, block=st.sampled_from([1, 8, 16, 32, 64, 128]))
def test_bytes_formula_property(kv, c, block):
    cfg = kv.ModelConfig(c["layers"], c["kv_heads"] * c["group"], c["kv_heads"], c["head_dim"], c["dtype"])
    per_token = kv.kv_bytes_per_token(cfg)
    assert per_token == c["layers"] * 2 * c["kv_heads"] * c["head_dim"] * kv.DTYPE_BYTES[c["dtype"]]
    assert kv.kv_bytes_per_block(cfg, block) == per_token * block


@SETTINGS
@given(tokens=st.integers(0, 10**6), block=st.integers(1, 512))
def test_blocks_cover_tokens_exactly(kv, tokens, block):
    n = kv.blocks_per_sequence(tokens, block)
    assert n * block >= tokens
    assert (n - 1) * block < tokens or n == 0


@SETTINGS
@given(
    budget=st.integers(2 * 2**21, 100 * GIB),
    extra=st.integers(0, 10 * GIB),
    seq_len=st.integers(1, 32768),
    block=st.sampled_from([16, 32]),
)
def test_more_memory_never_fits_fewer(kv, budget, extra, seq_len, block):
    cfg = llama3_8b(kv)
    common = dict(block_size=block, seq_len=seq_len, gpu_memory_utilization=1.0, weight_bytes=0, activation_bytes=0)

    def fits(total):
        try:
            return kv.max_concurrent_sequences(cfg, total_gpu_bytes=total, **common)
        except ValueError:
            return 0

    small, large = fits(budget), fits(budget + extra)
    assert large >= small
    usable = budget // kv.kv_bytes_per_block(cfg, block) - 1
    per_seq = kv.blocks_per_sequence(seq_len, block)
    assert small * per_seq <= usable < (small + 1) * per_seq
