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
    # TODO(you): program (seq, head); kv_head = head // GROUP.
    # Load q (scaled) and this sequence's length. Loop over its KV blocks:
    #   block id from the block table, load K [BLOCK, HEAD] (mask tokens past
    #   the length), scores = sum(k * q), online softmax (m, l, acc) and V.
    # Store acc / l in out's dtype.
    pass


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
