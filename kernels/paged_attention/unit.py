"""paged_attention decode, fp16, head size 128, block size 16, MHA and GQA.
Launch: grid (kv_heads, seqs, partitions), 128 threads. One partition when
kv_heads x seqs fills the GPU; otherwise the split-context variant spreads
each sequence over partitions and a second kernel merges them."""
import math

import torch
import torch.nn.functional as F

from tui.core.bench import f32, fn, i32, i64, ptr, sm_count

HEAD, BLOCK = 128, 16
BENCH = [
    ("B64 H32 L4096 MHA", {"seqs": 64, "heads": 32, "kv_heads": 32, "ctx": 4096}),
    ("B64 H32/8 L4096 GQA", {"seqs": 64, "heads": 32, "kv_heads": 8, "ctx": 4096}),
    ("B2 H32/8 L32768 split", {"seqs": 2, "heads": 32, "kv_heads": 8, "ctx": 32768}),
]
TEST_SIZES = [
    {"seqs": 1, "heads": 1, "kv_heads": 1, "ctx": 1, "ragged": True},
    {"seqs": 5, "heads": 4, "kv_heads": 4, "ctx": 300, "ragged": True},
    {"seqs": 3, "heads": 8, "kv_heads": 2, "ctx": 1000, "ragged": True},
    {"seqs": 4, "heads": 16, "kv_heads": 2, "ctx": 513, "ragged": True},
    {"seqs": 3, "heads": 24, "kv_heads": 8, "ctx": 700, "ragged": True},  # group 3
    {"seqs": 2, "heads": 40, "kv_heads": 8, "ctx": 1500, "ragged": True, "partitions": 2},  # group 5 (Qwen2.5-14B)
    {"seqs": 2, "heads": 28, "kv_heads": 4, "ctx": 900, "ragged": True},  # group 7 (Qwen2.5-7B)
    {"seqs": 2, "heads": 4, "kv_heads": 2, "ctx": 3000, "ragged": True, "partitions": 5},
    {"seqs": 3, "heads": 8, "kv_heads": 8, "ctx": 777, "ragged": True, "partitions": 3},
]


def inputs(size, gen):
    b, h, hkv, ctx = size["seqs"], size["heads"], size["kv_heads"], size["ctx"]
    if size.get("ragged"):
        lens = torch.randint(1, ctx + 1, (b,), generator=gen, device="cuda")
        lens[0] = ctx  # the longest is exactly ctx
    else:
        lens = torch.full((b,), ctx, device="cuda")
    nblk = [-(-int(n) // BLOCK) for n in lens.tolist()]
    max_blocks = max(nblk)
    num_blocks = sum(nblk) + 2
    perm = torch.randperm(num_blocks, generator=gen, device="cuda").int()  # blocks scattered in the cache
    tables = torch.zeros(b, max_blocks, dtype=torch.int32, device="cuda")
    at = 0
    for i, k in enumerate(nblk):
        tables[i, :k] = perm[at : at + k]
        at += k
    shape = (num_blocks, BLOCK, hkv, HEAD)
    return {
        "q": torch.randn(b, h, HEAD, generator=gen, device="cuda").half(),
        "k_cache": torch.randn(shape, generator=gen, device="cuda").half(),
        "v_cache": torch.randn(shape, generator=gen, device="cuda").half(),
        "tables": tables, "lens": lens.int(), "max_len": int(lens.max()),
    }


def outputs(t, size):
    return {"out": torch.full_like(t["q"], float("nan"))}


def partitions(size, max_len):
    """How many pieces to cut each sequence into (1 = no split)."""
    if size.get("partitions"):
        return size["partitions"]
    blocks = size["seqs"] * size["kv_heads"]
    if blocks >= 2 * sm_count() or max_len <= 512:
        return 1
    return max(1, min(-(-max_len // 512), -(-4 * sm_count() // blocks)))


GROUPS = range(1, 9)  # the query heads per KV head the kernel is instantiated for


def group_size(size) -> int:
    """heads / kv_heads, or a ValueError that says what is supported."""
    h, hkv = size["heads"], size["kv_heads"]
    if hkv <= 0 or h % hkv:
        raise ValueError(f"paged attention: {h} query heads do not divide into {hkv} KV heads")
    if h // hkv not in GROUPS:
        raise ValueError(f"paged attention: {h} query heads over {hkv} KV heads is a group of {h // hkv}; "
                         f"the kernel is instantiated for groups {GROUPS.start}-{GROUPS.stop - 1} "
                         "(a larger group would need more than 48 KB of static shared memory per block)")
    return h // hkv


def launch(mod, t, out, size):
    b, h, hkv = size["seqs"], size["heads"], size["kv_heads"]
    g = group_size(size)
    nparts = partitions(size, t["max_len"])
    part_size = -(-t["max_len"] // nparts)
    part_size = -(-part_size // BLOCK) * BLOCK  # partitions start on a KV block
    nparts = -(-t["max_len"] // part_size)
    kc = t["k_cache"]
    if nparts > 1:
        tmp_out = torch.empty(b, h, nparts, HEAD, device="cuda")
        tmp_m = torch.empty(b, h, nparts, device="cuda")
        tmp_l = torch.empty(b, h, nparts, device="cuda")
    else:
        tmp_out = tmp_m = tmp_l = out["out"]  # unused
    args = (ptr(out["out"]), ptr(tmp_out), ptr(tmp_m), ptr(tmp_l), ptr(t["q"]), ptr(kc), ptr(t["v_cache"]),
            ptr(t["tables"]), ptr(t["lens"]), f32(1 / math.sqrt(HEAD)), i32(t["tables"].shape[1]), i32(h),
            i64(kc.stride(0)), i64(kc.stride(1)), i32(part_size))
    fn(mod, f"paged_attention_decode_f16_g{g}")((hkv, b, nparts), (128,), args)
    if nparts > 1:
        fn(mod, "paged_attention_reduce_f16")((h, b), (HEAD,), (ptr(out["out"]), ptr(tmp_out), ptr(tmp_m),
                                                                 ptr(tmp_l), i32(nparts)))


def reference(t, size):
    """Dense attention per sequence in fp32 over the gathered blocks."""
    h, hkv = size["heads"], size["kv_heads"]
    outs = []
    for i, n in enumerate(t["lens"].tolist()):
        blocks = t["tables"][i, : -(-n // BLOCK)].long()
        k = t["k_cache"][blocks].reshape(-1, hkv, HEAD)[:n].float()
        v = t["v_cache"][blocks].reshape(-1, hkv, HEAD)[:n].float()
        k = k.repeat_interleave(h // hkv, dim=1)  # [n, h, D]
        v = v.repeat_interleave(h // hkv, dim=1)
        scores = torch.einsum("hd,nhd->hn", t["q"][i].float(), k) / math.sqrt(HEAD)
        outs.append(torch.einsum("hn,nhd->hd", scores.softmax(-1), v))
    return {"out": torch.stack(outs).half()}


def tolerance(size, t):
    return {"atol": 1e-3, "rtol": 1e-2}


def torch_op(t, size):
    """The naive PyTorch way: gather every block into a dense tensor, then SDPA."""
    b, h, hkv = size["seqs"], size["heads"], size["kv_heads"]
    q = t["q"].view(b, h, 1, HEAD)

    def op():
        k = t["k_cache"][t["tables"].long()].view(b, -1, hkv, HEAD).transpose(1, 2)
        v = t["v_cache"][t["tables"].long()].view(b, -1, hkv, HEAD).transpose(1, 2)
        return F.scaled_dot_product_attention(q, k, v, enable_gqa=(h != hkv))

    return op


def model(size, t=None):
    total = size["seqs"] * size["ctx"] if t is None else int(t["lens"].sum())
    kv = total * size["kv_heads"] * HEAD * 2 * 2  # K and V, fp16
    qo = 2 * size["seqs"] * size["heads"] * HEAD * 2
    return kv + qo, 4 * total * size["heads"] * HEAD
