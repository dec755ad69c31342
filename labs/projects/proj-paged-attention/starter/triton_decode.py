"""Stage 2: the paged decode kernel in Triton (runs under TRITON_INTERPRET=1 on a CPU).

Same inputs as reference.paged_decode_reference. Plan: one program per
(sequence, query head); walk the sequence's logical positions a tile of TILE
tokens at a time, look every position's physical block up in the block table
(block sizes need not be powers of two, nor equal to TILE), and keep an online
softmax (running max m, running sum l, accumulator acc) in float32.
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
    d = tl.arange(0, HEAD_PAD)
    # TODO(you): kv_head; load q (masked: d < HEAD); loop over tiles of positions < seq_len;
    # block ids from the table; masked K/V loads through the strides; online softmax; store acc / l.
    tl.store(out_ptr + (seq * num_heads + head) * HEAD + d, tl.zeros([HEAD_PAD], tl.float32).to(out_ptr.dtype.element_ty),
             mask=d < HEAD)


def paged_decode_triton(q, k_cache, v_cache, block_tables, seq_lens, scale):
    num_seqs, num_heads, head_size = q.shape
    _, block_size, num_kv_heads, _ = k_cache.shape
    q = q.contiguous()
    out = torch.empty_like(q)
    # TODO(you): pass the caches' real strides (they are views into a K|V-interleaved buffer).
    paged_decode_kernel[(num_seqs, num_heads)](
        out, q, k_cache, v_cache, block_tables, seq_lens, scale,
        num_heads, block_tables.stride(0), block_size,
        0, 0, 0, 0, 0, 0,
        GROUP=num_heads // num_kv_heads, HEAD=head_size,
        HEAD_PAD=triton.next_power_of_2(head_size), TILE=TILE)
    return out

