"""Stage 2: the paged decode kernel in Triton (runs under TRITON_INTERPRET=1 on a CPU).

Same inputs as reference.paged_decode_reference. One program per (sequence,
query head) walks the sequence's logical positions a tile of TILE tokens at a
time, looks every position's physical block up in the block table (so block
sizes need not be powers of two, nor equal to TILE), and keeps an online softmax
(running max m, running sum l, accumulator acc) in float32.
"""
import torch
import triton
import triton.language as tl

TILE = 16


@triton.jit
def paged_decode_kernel(out_ptr, q_ptr, k_ptr, v_ptr, tables_ptr, lens_ptr, scale,
                        num_heads, table_stride, block_size,
                        stride_kb, stride_kt, stride_kh, stride_vb, stride_vt, stride_vh,
                        GROUP: tl.constexpr, HEAD: tl.constexpr, HEAD_PAD: tl.constexpr, TILE: tl.constexpr):
    seq = tl.program_id(0)
    head = tl.program_id(1)
    kv_head = head // GROUP  # the GROUP query heads of a KV head are adjacent
    d = tl.arange(0, HEAD_PAD)
    dmask = d < HEAD  # head sizes like 80 or 96 pad to a power of two
    q = tl.load(q_ptr + (seq * num_heads + head) * HEAD + d, mask=dmask, other=0.0).to(tl.float32)
    length = tl.load(lens_ptr + seq)

    m = tl.max(tl.full([TILE], float("-inf"), tl.float32), 0)
    l = tl.sum(tl.zeros([TILE], tl.float32), 0)
    acc = tl.zeros([HEAD_PAD], tl.float32)
    for start in range(0, length, TILE):
        pos = start + tl.arange(0, TILE)
        valid = pos < length  # slots past seq_len are never loaded
        blk = tl.load(tables_ptr + seq * table_stride + pos // block_size, mask=valid, other=0).to(tl.int64)
        off = (pos % block_size).to(tl.int64)
        mask = valid[:, None] & dmask[None, :]
        k_addr = blk[:, None] * stride_kb + off[:, None] * stride_kt + kv_head * stride_kh + d[None, :]
        k = tl.load(k_ptr + k_addr, mask=mask, other=0.0).to(tl.float32)
        s = tl.sum(k * q[None, :], 1) * scale
        s = tl.where(valid, s, float("-inf"))
        m_new = tl.maximum(m, tl.max(s, 0))  # finite: every tile holds a valid token
        alpha = tl.exp(m - m_new)
        p = tl.exp(s - m_new)
        v_addr = blk[:, None] * stride_vb + off[:, None] * stride_vt + kv_head * stride_vh + d[None, :]
        v = tl.load(v_ptr + v_addr, mask=mask, other=0.0).to(tl.float32)
        acc = acc * alpha + tl.sum(p[:, None] * v, 0)
        l = l * alpha + tl.sum(p, 0)
        m = m_new
    tl.store(out_ptr + (seq * num_heads + head) * HEAD + d, (acc / l).to(out_ptr.dtype.element_ty), mask=dmask)


def paged_decode_triton(q, k_cache, v_cache, block_tables, seq_lens, scale):
    num_seqs, num_heads, head_size = q.shape
    _, block_size, num_kv_heads, _ = k_cache.shape
    if k_cache.stride(3) != 1 or v_cache.stride(3) != 1:
        raise ValueError("the head dimension of the caches must be contiguous")
    q = q.contiguous()
    out = torch.empty_like(q)
    kb, kt, kh = k_cache.stride(0), k_cache.stride(1), k_cache.stride(2)
    vb, vt, vh = v_cache.stride(0), v_cache.stride(1), v_cache.stride(2)
    paged_decode_kernel[(num_seqs, num_heads)](
        out, q, k_cache, v_cache, block_tables, seq_lens, scale,
        num_heads, block_tables.stride(0), block_size,
        kb, kt, kh, vb, vt, vh,
        GROUP=num_heads // num_kv_heads, HEAD=head_size,
        HEAD_PAD=triton.next_power_of_2(head_size), TILE=TILE)
    return out

