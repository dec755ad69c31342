"""Paged decode attention through block tables. Implement the two TODOs; see README.md.

Shapes (vLLM's flash layout, one layer):
    k_cache, v_cache  [num_blocks, block_size, num_kv_heads, head_size]
    q                 [batch, num_heads, head_size]   one new token per sequence
    block_tables      [batch, max_blocks] int         padded with 0 (the null block)
    seq_lens          [batch] int                     tokens in the cache, >= 1
"""
import torch


def write_kv(
    key: torch.Tensor,
    value: torch.Tensor,
    k_cache: torch.Tensor,
    v_cache: torch.Tensor,
    slot_mapping: torch.Tensor,
) -> None:
    """Store token i's K/V at slot slot_mapping[i] (in place).

    key, value: [num_tokens_padded, num_kv_heads, head_size]; only the first
    len(slot_mapping) rows are real tokens. slot = block_id * block_size + offset;
    a negative slot is padding and is skipped. ValueError for a slot past the
    end of the cache.
    """
    # TODO
    raise NotImplementedError("write_kv")


def paged_decode_attention(
    q: torch.Tensor,
    k_cache: torch.Tensor,
    v_cache: torch.Tensor,
    block_tables: torch.Tensor,
    seq_lens: torch.Tensor,
    scale: float,
) -> torch.Tensor:
    """For each sequence b and query head h:
        out[b, h] = softmax(q[b, h] . K_b^T * scale) V_b
    where K_b/V_b are the first seq_lens[b] tokens found through block_tables[b],
    and head h reads KV head h // (num_heads // num_kv_heads).
    Returns [batch, num_heads, head_size] in q.dtype. Slots past seq_len may hold
    garbage (even NaN) and must not affect the result."""
    # TODO
    raise NotImplementedError("paged_decode_attention")
