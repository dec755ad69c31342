"""Stage 1: paged decode attention in PyTorch. Every later stage is checked
against the same dense answer this function must reproduce.

Shapes (one layer, one decode step, vLLM 0.33.0's flash layout):
    q             [num_seqs, num_heads, head_size]        one new token per sequence
    k_cache       [num_blocks, block_size, num_kv_heads, head_size]   any strides
    v_cache       same shape and strides as k_cache
    block_tables  [num_seqs, max_blocks] int32            entries past a sequence's
                                                          last block are leftovers
    seq_lens      [num_seqs] int32                        tokens in the cache, >= 1
Returns [num_seqs, num_heads, head_size] in q.dtype, computed in float32.
"""
import torch  # noqa: F401


def paged_decode_reference(q, k_cache, v_cache, block_tables, seq_lens, scale):
    """softmax(q K^T * scale) V for each sequence over its first seq_len cached tokens.

    TODO(you): token t of sequence s lives in physical block block_tables[s, t // block_size]
    at slot t % block_size. Gather, keep only t < seq_len (the rest may be NaN), map query
    head h to KV head h // (num_heads // num_kv_heads), and do the math in float32.
    """
    raise NotImplementedError("stage 1: paged_decode_reference")
