"""Shared inputs and the dense reference for every stage of proj-paged-attention.

A case is built the way vLLM 0.33.0 hands a decode step to its attention backend:
one KV buffer per layer with logical shape [num_blocks, num_kv_heads, block_size,
2 * head_size] (K and V side by side in the last dimension), stored in one of two
physical orders (KVCacheLayout LBNHC = "NHD": tokens outside heads; LBHNC = "HND":
heads outside tokens), and split into K and V views exactly as
FlashAttentionImpl.forward does: kv.transpose(1, 2).split(head_size, dim=-1).
So k_cache and v_cache are [num_blocks, block_size, num_kv_heads, head_size]
views whose token stride is not num_kv_heads * head_size.

Adversarial on purpose: every slot no sequence owns is NaN (the null block 0,
spare blocks, the slots past seq_len in each last block); sequences own shuffled,
non-contiguous blocks; lengths are rarely multiples of the block size; the
block-table columns past a sequence's last block point at NaN blocks or at
blocks another sequence owns (vLLM's rows keep leftovers; see
vllm/v1/worker/block_table.py::BlockTable.add_row). The answer is
scaled_dot_product_attention in float64 over the K/V each sequence really has,
kept contiguous on the side: no paging in the reference.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

import pytest
import torch
import torch.nn.functional as F

NAN = float("nan")
LAYOUTS = ("NHD", "HND")


@dataclass
class Case:
    q: torch.Tensor
    k_cache: torch.Tensor
    v_cache: torch.Tensor
    block_tables: torch.Tensor
    seq_lens: torch.Tensor
    dense_k: list  # per sequence [seq_len, num_kv_heads, head_size], contiguous
    dense_v: list
    block_size: int
    layout: str

    def describe(self) -> str:
        return (f"seq_lens {self.seq_lens.tolist()}, block_size {self.block_size}, heads {self.q.shape[1]}/"
                f"{self.k_cache.shape[2]} (query/KV), head_size {self.q.shape[2]}, {str(self.q.dtype)[6:]}, "
                f"layout {self.layout}")

    def to(self, device) -> Case:
        """The same case on `device`: the whole K|V buffer moves, the views keep their strides."""
        flat = torch.empty(0, dtype=self.k_cache.dtype).set_(self.k_cache.untyped_storage()).to(device)
        k, v = (flat.as_strided(x.shape, x.stride(), x.storage_offset()) for x in (self.k_cache, self.v_cache))
        return Case(self.q.to(device), k, v, self.block_tables.to(device), self.seq_lens.to(device),
                    self.dense_k, self.dense_v, self.block_size, self.layout)


def make_case(seq_lens, *, block_size=16, num_heads=8, num_kv_heads=2, head_size=32, dtype=torch.float32,
              layout="NHD", seed=0, q_scale=1.0, spare_blocks=3, device="cpu") -> Case:
    g = torch.Generator().manual_seed(seed)
    rng = random.Random(seed)
    per_seq = [-(-n // block_size) for n in seq_lens]
    num_blocks = 1 + sum(per_seq) + spare_blocks  # block 0 is vLLM's null block
    two_d = 2 * head_size
    if layout == "NHD":  # LBNHC: [blocks, tokens, heads, K|V] in memory
        kv = torch.full((num_blocks, block_size, num_kv_heads, two_d), NAN, dtype=dtype).transpose(1, 2)
    elif layout == "HND":  # LBHNC: [blocks, heads, tokens, K|V] in memory
        kv = torch.full((num_blocks, num_kv_heads, block_size, two_d), NAN, dtype=dtype)
    else:
        raise ValueError(layout)
    k_cache, v_cache = kv.transpose(1, 2).split(head_size, dim=-1)  # FlashAttentionImpl.forward's views

    order = (torch.randperm(num_blocks - 1, generator=g) + 1).tolist()  # shuffled physical blocks
    owned = []
    for n in per_seq:
        owned.append([order.pop() for _ in range(n)])
    spare = order + [0]  # blocks nobody owns: all NaN
    width = max(per_seq) + 2
    tables = torch.zeros(len(seq_lens), width, dtype=torch.int32)
    dense_k, dense_v = [], []
    for s, n in enumerate(seq_lens):
        ids = owned[s]
        others = [b for i, o in enumerate(owned) if i != s for b in o]
        pad = [rng.choice(spare + others) for _ in range(width - len(ids))]  # leftovers, never to be read
        tables[s] = torch.tensor(ids + pad, dtype=torch.int32)
        k = torch.randn(n, num_kv_heads, head_size, generator=g).to(dtype)
        v = torch.randn(n, num_kv_heads, head_size, generator=g).to(dtype)
        t = torch.arange(n)
        blk = torch.tensor(ids, dtype=torch.long)[t // block_size]
        k_cache[blk, t % block_size] = k
        v_cache[blk, t % block_size] = v
        dense_k.append(k)
        dense_v.append(v)
    q = (torch.randn(len(seq_lens), num_heads, head_size, generator=g) * q_scale).to(dtype)
    case = Case(q, k_cache, v_cache, tables, torch.tensor(seq_lens, dtype=torch.int32), dense_k, dense_v,
                block_size, layout)
    return case.to(device) if device != "cpu" else case


def sdpa_reference(case: Case, scale: float) -> torch.Tensor:
    """float64 SDPA per sequence over its contiguous K/V (no paging), on the CPU."""
    outs = []
    for s in range(case.q.shape[0]):
        q = case.q[s].detach().cpu().double()[None, :, None, :]  # [1, H, 1, D]
        k = case.dense_k[s].double().transpose(0, 1)[None]  # [1, Hkv, T, D]
        v = case.dense_v[s].double().transpose(0, 1)[None]
        outs.append(F.scaled_dot_product_attention(q, k, v, scale=scale, enable_gqa=True)[0, :, 0])
    return torch.stack(outs)


TOL = {torch.float32: (1e-5, 1e-5), torch.float16: (1e-3, 2e-3), torch.bfloat16: (8e-3, 1e-2)}


def check_output(out: torch.Tensor, case: Case, scale: float, what: str, tol: tuple | None = None) -> None:
    """The learner's output against SDPA, with a message that says which mistake it looks like.
    `tol` (atol, rtol) for float32 scores in the hundreds, whose rounding alone is ~1e-5 relative."""
    if not isinstance(out, torch.Tensor):
        pytest.fail(f"{what} returned {type(out).__name__}, not a tensor", pytrace=False)
    if tuple(out.shape) != tuple(case.q.shape) or out.dtype != case.q.dtype:
        pytest.fail(f"{what}: output {tuple(out.shape)} {out.dtype}, expected {tuple(case.q.shape)} {case.q.dtype}",
                    pytrace=False)
    got = out.detach().cpu().double()
    bad = ~torch.isfinite(got)
    if bool(bad.any()):
        s, h = (int(i) for i in torch.nonzero(bad)[0][:2])
        pytest.fail(f"{what}: {int(bad.sum())} non-finite outputs, first at sequence {s} head {h} "
                    f"(seq_len {int(case.seq_lens[s])}). A slot past seq_len, a block the table only points at "
                    f"(both hold NaN here), or exp() without the max subtracted leaked in. {case.describe()}",
                    pytrace=False)
    want = sdpa_reference(case, scale)
    atol, rtol = tol or TOL[case.q.dtype]
    err = (got - want).abs()
    wrong = err > atol + rtol * want.abs()
    if bool(wrong.any()):
        s, h, d = (int(i) for i in torch.nonzero(wrong)[0])
        pytest.fail(f"{what}: {int(wrong.sum())} of {got.numel()} outputs differ from SDPA on the contiguous K/V "
                    f"(max abs error {float(err.max()):.3g}; atol {atol:g}, rtol {rtol:g}); first at sequence {s} "
                    f"head {h} dim {d}: got {float(got[s, h, d]):.6g}, expected {float(want[s, h, d]):.6g}. "
                    f"{case.describe()}", pytrace=False)


def two_kv_heads_of_opposite_sign(case: Case) -> None:
    """V = +1 on KV head 0 and -1 on KV head 1 for every real token: query head h must
    come out as +1 when h // group == 0, else -1 (h % num_kv_heads would interleave them)."""
    for s, n in enumerate(case.seq_lens.tolist()):
        t = torch.arange(n)
        blk = case.block_tables[s].cpu().long()[t // case.block_size]
        for kv_head, sign in ((0, 1.0), (1, -1.0)):
            case.v_cache[blk.to(case.v_cache.device), (t % case.block_size).to(case.v_cache.device), kv_head] = sign
            case.dense_v[s][:, kv_head] = sign


# ---------------------------------------------------------------- the CUDA kernel (stages 3 and 4)

CUDA_FILE = "paged_decode.cu"
THREADS = 128
KERNELS = {torch.float16: "paged_decode_f16", torch.bfloat16: "paged_decode_bf16"}
GUARD_ROWS = 1


def cuda_module(lab_dir):
    from tui.core.labs.cuda_compile import CudaCompileError, load_module

    try:
        return load_module(lab_dir / CUDA_FILE)
    except CudaCompileError as exc:
        pytest.fail(str(exc), pytrace=False)


def launch_cuda(module, case: Case, scale: float, out: torch.Tensor | None = None) -> torch.Tensor:
    """grid (num_kv_heads, num_seqs), 128 threads, every argument as the README's signature says."""
    from tui.core.bench import f32, fn, i32, i64, ptr

    q = case.q.contiguous()
    num_seqs, num_heads, head_size = q.shape
    kc, vc = case.k_cache, case.v_cache
    assert kc.stride() == vc.stride() and kc.stride(3) == 1, "K and V views share strides in vLLM's layout"
    if out is None:
        out = torch.empty_like(q)
    fn(module, KERNELS[q.dtype])((kc.shape[2], num_seqs), (THREADS,), (
        ptr(out), ptr(q), ptr(kc), ptr(vc), ptr(case.block_tables), ptr(case.seq_lens), f32(scale),
        i32(num_heads), i32(kc.shape[2]), i32(case.block_tables.stride(0)), i32(case.block_size),
        i64(kc.stride(0)), i64(kc.stride(1)), i64(kc.stride(2))))
    return out


def poisoned_output(case: Case) -> tuple[torch.Tensor, torch.Tensor]:
    """(buffer, output view): NaN everywhere, with one guard row of sequences on each side."""
    s, h, d = case.q.shape
    buf = torch.full((s + 2 * GUARD_ROWS, h, d), NAN, dtype=case.q.dtype, device=case.q.device)
    return buf, buf[GUARD_ROWS:GUARD_ROWS + s]


def fresh_seed() -> int:
    return random.randrange(1 << 30)
