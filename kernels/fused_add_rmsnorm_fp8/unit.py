"""Fused residual add + RMSNorm + static per-tensor FP8 (E4M3) quantisation, as vLLM's
fused_add_rms_norm_static_fp8_quant: residual <- x + residual (in place), out = fp8(rms_norm(z) * w / scale).
Launch: one block per row; x may be a strided view (row stride >= cols)."""
import torch
import torch.nn.functional as F

from tui.core.bench import f32, fn, i32, ptr

EPS = 1e-6
FP8 = torch.float8_e4m3fn
DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}
BENCH = [("32768x4096 bf16 -> e4m3", {"rows": 32768, "cols": 4096, "dtype": "bf16", "scale": 0.05})]
TEST_SIZES = [
    {"rows": 1, "cols": 8, "dtype": "fp16", "scale": 0.05},
    {"rows": 7, "cols": 1000, "dtype": "fp16", "scale": 0.02, "stride": 1003},   # odd stride: scalar path
    {"rows": 5, "cols": 4096, "dtype": "bf16", "scale": 0.005, "stride": 4096 + 64},  # many values saturate
    {"rows": 3, "cols": 4104, "dtype": "bf16", "scale": 0.05, "big": True},     # |x| ~ 300, large-mean rows
    {"rows": 2, "cols": 40000, "dtype": "fp16", "scale": 0.01},
    {"rows": 65, "cols": 5120, "dtype": "bf16", "scale": 0.03, "stride": 3 * 5120},  # x as a slice of a fused tensor
    {"rows": 300, "cols": 2048, "dtype": "fp16", "scale": 0.08},                 # >= 256 rows: 256-thread blocks
]


def inputs(size, gen):
    rows, cols, dt = size["rows"], size["cols"], DTYPES[size["dtype"]]
    stride = size.get("stride", cols)
    buf = torch.randn(rows, stride, generator=gen, device="cuda")
    if size.get("big"):
        buf = 300 * buf + 100
    x = buf.to(dt)[:, :cols]  # a view: row stride `stride`
    residual = torch.randn(rows, cols, generator=gen, device="cuda").to(dt)
    residual[0] = -x[0]  # row 0 sums to exactly zero: the norm must not divide by zero
    w = (1 + 0.1 * torch.randn(cols, generator=gen, device="cuda")).to(dt)
    return {"x": x, "residual": residual, "w": w,
            "scale": torch.tensor([size["scale"]], dtype=torch.float32, device="cuda")}


def outputs(t, size):
    out = torch.full((size["rows"], size["cols"]), 0x7F, dtype=torch.uint8, device="cuda").view(FP8)  # NaN
    return {"out": out, "residual": t["residual"].clone()}  # in place: residual starts from the input


def threads_for(rows, cols):
    cap = 1024 if rows < 256 else 256  # as vLLM: fewer threads per row when there are many rows
    per = -(-cols // 8) if cols % 8 == 0 else cols
    return min(cap, max(32, -(-per // 32) * 32))


def launch(mod, t, out, size):
    rows, cols = size["rows"], size["cols"]
    name = "fused_add_rms_norm_fp8_" + ("bf16" if size["dtype"] == "bf16" else "f16")
    args = (ptr(out["out"]), ptr(t["x"]), i32(t["x"].stride(0)), ptr(out["residual"]), ptr(t["w"]),
            ptr(t["scale"]), i32(cols), f32(EPS))
    fn(mod, name)((rows,), (threads_for(rows, cols),), args)


def reference(t, size):
    dt = DTYPES[size["dtype"]]
    z = t["x"] + t["residual"]  # one rounding to the activation dtype
    zf = z.float()
    o = (zf * torch.rsqrt(zf.pow(2).mean(-1, keepdim=True) + EPS) * t["w"].float()).to(dt)
    q = (o.float() / t["scale"]).clamp(-448.0, 448.0).to(FP8)
    return {"out": q, "residual": z}


def tolerance(size, t):
    # E4M3 keeps 3 mantissa bits: one step is at most 1/8 of the value (2^-9 below the normals).
    # A 1-step difference comes from rsqrtf vs torch.rsqrt or the reciprocal scale at a rounding boundary.
    return {"atol": 2.0 ** -9, "rtol": 0.125}


def torch_op(t, size):
    """The unfused chain in eager PyTorch: add, rms_norm, divide, clamp, cast."""
    x, w, s, cols = t["x"], t["w"], t["scale"], size["cols"]
    res = t["residual"].clone()

    def chain():
        res.add_(x)
        o = F.rms_norm(res, (cols,), w, EPS)
        return (o.float() / s).clamp_(-448.0, 448.0).to(FP8)

    return chain


def model(size):
    n = size["rows"] * size["cols"]
    # read x and residual (2 B each), write residual (2 B) and out (1 B); w and scale once
    return 7 * n + 2 * size["cols"] + 4, 6 * n
