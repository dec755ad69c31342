"""KV-cache sizing: how many bytes a token costs and how many sequences fit.

Reference solution. See README.md for the derivation.
"""

import math
from dataclasses import dataclass

# Bytes per element of the KV cache, by dtype name (vLLM's --kv-cache-dtype).
DTYPE_BYTES = {"fp32": 4, "fp16": 2, "bf16": 2, "fp8": 1}


@dataclass(frozen=True)
class ModelConfig:
    num_layers: int  # decoder layers, each with its own KV cache
    num_heads: int  # query heads
    num_kv_heads: int  # key/value heads (== num_heads for MHA, 1 for MQA)
    head_dim: int
    kv_dtype: str = "bf16"


def _positive_int(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def _validate(cfg: ModelConfig, tp_size: int = 1) -> None:
    for name in ("num_layers", "num_heads", "num_kv_heads", "head_dim"):
        _positive_int(name, getattr(cfg, name))
    _positive_int("tp_size", tp_size)
    if cfg.num_heads % cfg.num_kv_heads:
        raise ValueError(f"num_heads={cfg.num_heads} is not a multiple of num_kv_heads={cfg.num_kv_heads}")
    if cfg.kv_dtype not in DTYPE_BYTES:
        raise ValueError(f"unknown kv_dtype {cfg.kv_dtype!r}; known: {sorted(DTYPE_BYTES)}")
    if cfg.num_heads % tp_size:
        raise ValueError(f"num_heads={cfg.num_heads} cannot be split over tp_size={tp_size}")
    # KV heads are either split evenly or replicated evenly across ranks.
    big, small = max(cfg.num_kv_heads, tp_size), min(cfg.num_kv_heads, tp_size)
    if big % small:
        raise ValueError(f"num_kv_heads={cfg.num_kv_heads} and tp_size={tp_size} do not divide")


def attention_kind(cfg: ModelConfig) -> str:
    """'MHA' (one KV head per query head), 'MQA' (one KV head) or 'GQA' (between)."""
    _validate(cfg)
    if cfg.num_kv_heads == cfg.num_heads:
        return "MHA"
    if cfg.num_kv_heads == 1:
        return "MQA"
    return "GQA"


def kv_heads_per_gpu(cfg: ModelConfig, tp_size: int = 1) -> int:
    _validate(cfg, tp_size)
    return max(1, cfg.num_kv_heads // tp_size)


def kv_bytes_per_token(cfg: ModelConfig, tp_size: int = 1) -> int:
    """Bytes of K and V one token occupies on one GPU, summed over all layers."""
    heads = kv_heads_per_gpu(cfg, tp_size)
    return cfg.num_layers * 2 * heads * cfg.head_dim * DTYPE_BYTES[cfg.kv_dtype]


def kv_bytes_per_block(cfg: ModelConfig, block_size: int, tp_size: int = 1) -> int:
    """Bytes of one block id: block_size tokens in every layer."""
    _positive_int("block_size", block_size)
    return kv_bytes_per_token(cfg, tp_size) * block_size


def blocks_per_sequence(num_tokens: int, block_size: int) -> int:
    """Blocks a sequence of num_tokens holds: the last one is paid in full."""
    _positive_int("block_size", block_size)
    if isinstance(num_tokens, bool) or not isinstance(num_tokens, int) or num_tokens < 0:
        raise ValueError(f"num_tokens must be an int >= 0, got {num_tokens!r}")
    return -(-num_tokens // block_size)


def kv_cache_budget_bytes(
    total_gpu_bytes: int,
    gpu_memory_utilization: float,
    weight_bytes: int,
    activation_bytes: int,
) -> int:
    """Bytes left for the KV cache on one GPU, the way vLLM's worker counts them."""
    _positive_int("total_gpu_bytes", total_gpu_bytes)
    if not 0 < gpu_memory_utilization <= 1:
        raise ValueError(f"gpu_memory_utilization must be in (0, 1], got {gpu_memory_utilization}")
    for name, value in (("weight_bytes", weight_bytes), ("activation_bytes", activation_bytes)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be an int >= 0, got {value!r}")
    requested = math.ceil(total_gpu_bytes * gpu_memory_utilization)
    budget = requested - weight_bytes - activation_bytes
    if budget <= 0:
        raise ValueError(
            f"no memory left for the KV cache: {requested} requested, "
            f"{weight_bytes} weights, {activation_bytes} activations"
        )
    return budget


def num_gpu_blocks(cfg: ModelConfig, block_size: int, budget_bytes: int, tp_size: int = 1) -> int:
    """How many whole blocks the budget holds (block 0 included)."""
    _positive_int("budget_bytes", budget_bytes)
    return budget_bytes // kv_bytes_per_block(cfg, block_size, tp_size)


def max_concurrent_sequences(
    cfg: ModelConfig,
    *,
    block_size: int,
    seq_len: int,
    total_gpu_bytes: int,
    gpu_memory_utilization: float,
    weight_bytes: int,
    activation_bytes: int,
    tp_size: int = 1,
) -> int:
    """Sequences of seq_len tokens that fit at once; ValueError if not even one does."""
    _positive_int("seq_len", seq_len)
    budget = kv_cache_budget_bytes(total_gpu_bytes, gpu_memory_utilization, weight_bytes, activation_bytes)
    usable = num_gpu_blocks(cfg, block_size, budget, tp_size) - 1  # block 0 is the null block
    per_seq = blocks_per_sequence(seq_len, block_size)
    fits = max(usable, 0) // per_seq
    if fits == 0:
        raise ValueError(
            f"one sequence of {seq_len} tokens needs {per_seq} blocks; only {max(usable, 0)} usable "
            f"(at most {max(usable, 0) * block_size} tokens)"
        )
    return fits
