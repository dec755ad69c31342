"""Paged-attention decode in Triton (fp16/fp32, MHA and GQA).

q: [seqs, heads, D]; k_cache/v_cache: [num_blocks, BLOCK, kv_heads, D] (vLLM's
flash layout); block_tables: [seqs, max_blocks] int32; seq_lens: [seqs] int32.
One program per (sequence, query head) walks that sequence's block table one
KV block at a time with an online softmax. vLLM's own Triton kernel
(vllm/v1/attention/ops/triton_unified_attention.py, `kernel_unified_attention_2d`)
follows the same plan, but handles the query heads of a KV group together and
serves prefill and decode in one launch.
"""
import math

import torch
import triton
import triton.language as tl


@triton.jit
def paged_decode_kernel(out_ptr, q_ptr, k_ptr, v_ptr, tables_ptr, lens_ptr, scale,
                        num_heads, stride_tab, stride_kb, stride_kt, stride_kh,
                        GROUP: tl.constexpr, HEAD: tl.constexpr, BLOCK: tl.constexpr):
    seq = tl.program_id(0)
    head = tl.program_id(1)
    kv_head = head // GROUP  # GQA: GROUP query heads read the same KV head
    d = tl.arange(0, HEAD)
    t = tl.arange(0, BLOCK)
    q = tl.load(q_ptr + (seq * num_heads + head) * HEAD + d).to(tl.float32) * scale
    length = tl.load(lens_ptr + seq)
    m = tl.max(tl.full([BLOCK], float("-inf"), tl.float32), 0)
    l = tl.sum(tl.zeros([BLOCK], tl.float32), 0)
    acc = tl.zeros([HEAD], tl.float32)
    for b in range(0, tl.cdiv(length, BLOCK)):
        block = tl.load(tables_ptr + seq * stride_tab + b).to(tl.int64)
        tok = b * BLOCK + t
        valid = tok < length
        offs = block * stride_kb + t[:, None] * stride_kt + kv_head * stride_kh + d[None, :]
        k = tl.load(k_ptr + offs, mask=valid[:, None], other=0.0).to(tl.float32)
        scores = tl.where(valid, tl.sum(k * q[None, :], 1), float("-inf"))
        m_new = tl.maximum(m, tl.max(scores, 0))  # finite: every block has a valid token
        alpha = tl.exp(m - m_new)
        p = tl.exp(scores - m_new)
        v = tl.load(v_ptr + offs, mask=valid[:, None], other=0.0).to(tl.float32)
        acc = acc * alpha + tl.sum(p[:, None] * v, 0)
        l = l * alpha + tl.sum(p, 0)
        m = m_new
    tl.store(out_ptr + (seq * num_heads + head) * HEAD + d, (acc / l).to(out_ptr.dtype.element_ty))


def paged_decode(q, k_cache, v_cache, block_tables, seq_lens, scale=None):
    seqs, heads, head = q.shape
    _, block, kv_heads, _ = k_cache.shape
    out = torch.empty_like(q)
    scale = 1.0 / math.sqrt(head) if scale is None else scale
    paged_decode_kernel[(seqs, heads)](
        out, q, k_cache, v_cache, block_tables, seq_lens, scale,
        heads, block_tables.stride(0), k_cache.stride(0), k_cache.stride(1), k_cache.stride(2),
        GROUP=heads // kv_heads, HEAD=head, BLOCK=block)
    return out
