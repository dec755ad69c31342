"""KV-cache sizing: how many bytes a token costs and how many sequences fit.

Implement every function marked TODO. README.md has the formulas, a worked
example with numbers, and the rules for what counts as invalid (ValueError).
"""

import math  # noqa: F401  (you will want math.ceil)
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


def _validate(cfg: ModelConfig, tp_size: int = 1) -> None:
    """Raise ValueError unless: all four sizes and tp_size are positive ints,
    num_heads % num_kv_heads == 0, kv_dtype is in DTYPE_BYTES,
    num_heads % tp_size == 0, and the larger of (num_kv_heads, tp_size) is a
    multiple of the smaller (KV heads are split or replicated evenly)."""
    # TODO
    raise NotImplementedError("_validate")


def attention_kind(cfg: ModelConfig) -> str:
    """'MHA' (one KV head per query head), 'MQA' (one KV head) or 'GQA' (between)."""
    # TODO
    raise NotImplementedError("attention_kind")


def kv_heads_per_gpu(cfg: ModelConfig, tp_size: int = 1) -> int:
    """KV heads one GPU stores under tensor parallelism (at least 1)."""
    # TODO
    raise NotImplementedError("kv_heads_per_gpu")


def kv_bytes_per_token(cfg: ModelConfig, tp_size: int = 1) -> int:
    """Bytes of K and V one token occupies on one GPU, summed over all layers."""
    # TODO
    raise NotImplementedError("kv_bytes_per_token")


def kv_bytes_per_block(cfg: ModelConfig, block_size: int, tp_size: int = 1) -> int:
    """Bytes of one block id: block_size tokens in every layer."""
    # TODO
    raise NotImplementedError("kv_bytes_per_block")


def blocks_per_sequence(num_tokens: int, block_size: int) -> int:
    """Blocks a sequence of num_tokens holds (num_tokens >= 0): the last one is paid in full."""
    # TODO
    raise NotImplementedError("blocks_per_sequence")


def kv_cache_budget_bytes(
    total_gpu_bytes: int,
    gpu_memory_utilization: float,
    weight_bytes: int,
    activation_bytes: int,
) -> int:
    """Bytes left for the KV cache on one GPU:
    math.ceil(total_gpu_bytes * gpu_memory_utilization) - weight_bytes - activation_bytes.
    ValueError if utilization is outside (0, 1], a size is negative, or nothing is left."""
    # TODO
    raise NotImplementedError("kv_cache_budget_bytes")


def num_gpu_blocks(cfg: ModelConfig, block_size: int, budget_bytes: int, tp_size: int = 1) -> int:
    """How many whole blocks the budget holds (block 0 included)."""
    # TODO
    raise NotImplementedError("num_gpu_blocks")


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
    """Sequences of seq_len tokens that fit at once, block 0 excluded (it is the
    null block); ValueError if not even one fits."""
    # TODO
    raise NotImplementedError("max_concurrent_sequences")
