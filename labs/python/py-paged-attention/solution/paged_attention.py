"""Paged decode attention through block tables. Reference solution; see README.md.

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
    """Store token i's K/V at slot slot_mapping[i]; negative slots are padding."""
    num_blocks, block_size = k_cache.shape[:2]
    n = slot_mapping.shape[0]  # key/value may carry extra padded rows
    if key.shape[0] < n or value.shape[0] < n:
        raise ValueError("slot_mapping is longer than key/value")
    slots = slot_mapping.long()
    keep = slots >= 0
    slots = slots[keep]
    if slots.numel() and int(slots.max()) >= num_blocks * block_size:
        raise ValueError(f"slot {int(slots.max())} is outside a cache of {num_blocks * block_size} slots")
    blocks, offsets = slots // block_size, slots % block_size
    k_cache[blocks, offsets] = key[:n][keep].to(k_cache.dtype)
    v_cache[blocks, offsets] = value[:n][keep].to(v_cache.dtype)


def paged_decode_attention(
    q: torch.Tensor,
    k_cache: torch.Tensor,
    v_cache: torch.Tensor,
    block_tables: torch.Tensor,
    seq_lens: torch.Tensor,
    scale: float,
) -> torch.Tensor:
    """softmax(q K^T * scale) V for each sequence over its first seq_len cached tokens."""
    batch, num_heads, head_size = q.shape
    block_size, num_kv_heads = k_cache.shape[1], k_cache.shape[2]
    if num_heads % num_kv_heads:
        raise ValueError(f"{num_heads} query heads cannot share {num_kv_heads} KV heads evenly")
    if int(seq_lens.min()) < 1:
        raise ValueError("every sequence needs at least one cached token")
    group = num_heads // num_kv_heads
    max_len = int(seq_lens.max())
    if -(-max_len // block_size) > block_tables.shape[1]:
        raise ValueError("block_tables has too few columns for the longest sequence")

    pos = torch.arange(max_len, device=q.device)
    blk = block_tables[:, pos // block_size].long()  # [batch, T]
    off = (pos % block_size).expand(batch, max_len)  # [batch, T]
    valid = pos[None, :] < seq_lens[:, None].to(pos.device)  # [batch, T]

    # Slots past seq_len hold stale bytes (maybe NaN): zero them, 0 * NaN is NaN.
    fill = valid[:, :, None, None]
    k = torch.where(fill, k_cache[blk, off].float(), 0.0)  # [batch, T, Hkv, D]
    v = torch.where(fill, v_cache[blk, off].float(), 0.0)

    qg = q.float().view(batch, num_kv_heads, group, head_size)  # head h -> KV head h // group
    scores = torch.einsum("bhgd,bthd->bhgt", qg, k) * scale
    scores = scores.masked_fill(~valid[:, None, None, :], float("-inf"))
    out = torch.einsum("bhgt,bthd->bhgd", scores.softmax(dim=-1), v)
    return out.reshape(batch, num_heads, head_size).to(q.dtype)
