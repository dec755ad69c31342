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
import torch


def paged_decode_reference(q, k_cache, v_cache, block_tables, seq_lens, scale):
    num_seqs, num_heads, head_size = q.shape
    block_size, num_kv_heads = k_cache.shape[1], k_cache.shape[2]
    if num_heads % num_kv_heads:
        raise ValueError(f"{num_heads} query heads cannot share {num_kv_heads} KV heads evenly")
    group = num_heads // num_kv_heads
    lens = seq_lens.to(q.device).long()
    max_len = int(lens.max())

    pos = torch.arange(max_len, device=q.device)                # logical token positions
    valid = pos[None, :] < lens[:, None]                          # [S, T]: only seq_len tokens exist
    blk = block_tables[:, pos // block_size].long()               # [S, T]: logical -> physical block
    off = pos % block_size                                        # [T]: slot inside the block

    # Slots past seq_len (and blocks the table merely points at) hold stale bytes,
    # maybe NaN: -inf on the score is not enough, since 0 * NaN is NaN in P @ V.
    keep = valid[:, :, None, None]
    k = torch.where(keep, k_cache[blk, off].float(), 0.0)        # [S, T, Hkv, D]
    v = torch.where(keep, v_cache[blk, off].float(), 0.0)

    qg = q.float().view(num_seqs, num_kv_heads, group, head_size)  # head h reads KV head h // group
    scores = torch.einsum("skgd,stkd->skgt", qg, k) * scale
    scores = scores.masked_fill(~valid[:, None, None, :], float("-inf"))
    probs = torch.softmax(scores, dim=-1)                         # subtracts each row's max first
    out = torch.einsum("skgt,stkd->skgd", probs, v)
    return out.reshape(num_seqs, num_heads, head_size).to(q.dtype)
