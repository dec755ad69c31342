"""Rotary embedding as vLLM's rotary_embedding kernel: in place on q [T, H, D] and k [T, Hkv, D],
both views into one fused QKV tensor [T, (H + 2 Hkv) D]; cos/sin cache [max_pos, rot_dim] indexed
by positions (int64); NeoX or GPT-J pairing; dims past rot_dim untouched. Launch: one block per token."""
import torch

from tui.core.bench import fn, i32, i64, ptr

DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}
BENCH = [("16384 tok H32/8 D128 NeoX bf16", {"tokens": 16384, "heads": 32, "kv_heads": 8, "head": 128, "rot": 128,
                                             "neox": True, "dtype": "bf16", "max_pos": 32768})]
TEST_SIZES = [
    {"tokens": 1, "heads": 1, "kv_heads": 1, "head": 64, "rot": 64, "neox": True, "dtype": "fp16", "max_pos": 16},
    {"tokens": 7, "heads": 32, "kv_heads": 8, "head": 128, "rot": 128, "neox": True, "dtype": "bf16", "max_pos": 32768},
    {"tokens": 5, "heads": 12, "kv_heads": 4, "head": 128, "rot": 64, "neox": False, "dtype": "fp16", "max_pos": 4096},
    {"tokens": 33, "heads": 8, "kv_heads": 1, "head": 80, "rot": 80, "neox": True, "dtype": "bf16", "max_pos": 2048},
    {"tokens": 300, "heads": 16, "kv_heads": 2, "head": 256, "rot": 128, "neox": False, "dtype": "bf16",
     "max_pos": 8192, "pad": 64},  # partial rotary, and extra columns after V: a larger token stride
    {"tokens": 3, "heads": 40, "kv_heads": 8, "head": 128, "rot": 128, "neox": False, "dtype": "fp16", "max_pos": 131072},
    {"tokens": 64, "heads": 28, "kv_heads": 4, "head": 128, "rot": 128, "neox": True, "dtype": "fp16", "max_pos": 1024,
     "pad": 8},
    # an odd token stride: only every eighth row starts 16-byte aligned, the rest need the scalar path
    {"tokens": 19, "heads": 6, "kv_heads": 2, "head": 64, "rot": 48, "neox": True, "dtype": "fp16", "max_pos": 512,
     "pad": 3},
    {"tokens": 4, "heads": 3, "kv_heads": 1, "head": 32, "rot": 20, "neox": False, "dtype": "bf16", "max_pos": 64},
]


def _cache(size, dt):
    rot = size["rot"]
    inv_freq = 1.0 / (500000.0 ** (torch.arange(0, rot, 2, device="cuda", dtype=torch.float32) / rot))
    ang = torch.arange(size["max_pos"], device="cuda", dtype=torch.float32)[:, None] * inv_freq[None, :]
    return torch.cat([ang.cos(), ang.sin()], dim=-1).to(dt)  # [max_pos, rot]: cos half, then sin half


def inputs(size, gen):
    T, H, Hkv, D, dt = size["tokens"], size["heads"], size["kv_heads"], size["head"], DTYPES[size["dtype"]]
    width = (H + 2 * Hkv) * D + size.get("pad", 0)
    qkv = torch.randn(T, width, generator=gen, device="cuda").to(dt)
    positions = torch.randint(0, size["max_pos"], (T,), generator=gen, device="cuda", dtype=torch.int64)
    return {"qkv": qkv, "positions": positions, "cache": _cache(size, dt)}


def outputs(t, size):
    return {"qkv": t["qkv"].clone()}  # in place; V, the padding and dims past rot_dim must come back unchanged


def _views(qkv, size):
    H, Hkv, D = size["heads"], size["kv_heads"], size["head"]
    q = qkv[:, : H * D].unflatten(1, (H, D))
    k = qkv[:, H * D : (H + Hkv) * D].unflatten(1, (Hkv, D))
    return q, k


def launch(mod, t, out, size):
    qkv = out["qkv"]
    q, k = _views(qkv, size)
    H, Hkv, rot = size["heads"], size["kv_heads"], size["rot"]
    name = "rotary_embedding_" + ("bf16" if size["dtype"] == "bf16" else "f16")
    args = (ptr(t["positions"]), ptr(q), ptr(k), ptr(t["cache"]), i32(rot), i64(q.stride(0)), i64(k.stride(0)),
            i64(q.stride(1)), i32(H), i32(Hkv), i32(1 if size["neox"] else 0))
    fn(mod, name)((size["tokens"],), (min(H * rot // 2, 512),), args)


def _rope_(x, cos, sin, size):
    """Rotate x [T, heads, D] in place (fp32 arithmetic, one rounding), the way vLLM's forward_native does."""
    rot, half = size["rot"], size["rot"] // 2
    r = x[..., :rot].float()
    c, s = cos[:, None, :], sin[:, None, :]
    if size["neox"]:
        x1, x2 = r[..., :half], r[..., half:]
        new = torch.cat([x1 * c - x2 * s, x2 * c + x1 * s], dim=-1)
    else:
        x1, x2 = r[..., 0::2], r[..., 1::2]
        new = torch.stack([x1 * c - x2 * s, x2 * c + x1 * s], dim=-1).flatten(-2)
    x[..., :rot] = new.to(x.dtype)


def _cos_sin(t, size):
    row = t["cache"][t["positions"]].float()
    half = size["rot"] // 2
    return row[:, :half], row[:, half:]


def reference(t, size):
    qkv = t["qkv"].clone()
    q, k = _views(qkv, size)
    cos, sin = _cos_sin(t, size)
    _rope_(q, cos, sin, size)
    _rope_(k, cos, sin, size)
    return {"qkv": qkv}


def tolerance(size, t):
    # one rounding to the dtype; an FMA in the kernel can move it by one ulp
    return {"atol": 1e-5, "rtol": 1.6e-2 if size["dtype"] == "bf16" else 2e-3}


def torch_op(t, size):
    qkv = t["qkv"].clone()
    q, k = _views(qkv, size)

    def rope():
        cos, sin = _cos_sin(t, size)
        _rope_(q, cos, sin, size)
        _rope_(k, cos, sin, size)

    return rope


def model(size):
    T, rot = size["tokens"], size["rot"]
    pairs = T * (size["heads"] + size["kv_heads"]) * rot // 2
    # read and write the rotated dims of q and k (2 B each), a cache row and a position per token
    return 4 * 2 * pairs + T * (2 * rot + 8), 6 * pairs
