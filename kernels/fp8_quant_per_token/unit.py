"""Dynamic per-token FP8 quantisation, as vLLM's dynamic_per_token_scaled_fp8_quant:
scale[t] = max(min(absmax(x[t]), ub) / 448, 1 / (448 * 512)); out = e4m3(clamp(x / scale, +-448)).
Launch: one block per token, min(cols, 256) threads; x may be a strided view."""
import numpy as np
import torch

from tui.core.bench import fn, i32, i64, ptr

FP8 = torch.float8_e4m3fn
FP8_MAX = 448.0
MIN_SCALE = 1.0 / (448.0 * 512.0)
DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}
BENCH = [("16384x4096 bf16 -> e4m3", {"rows": 16384, "cols": 4096, "dtype": "bf16"})]
TEST_SIZES = [
    {"rows": 1, "cols": 1, "dtype": "fp16"},
    {"rows": 6, "cols": 1000, "dtype": "bf16", "stride": 1001},                 # scalar path, strided
    {"rows": 9, "cols": 4096, "dtype": "fp16", "ub": 2.0},                       # the bound caps most rows
    {"rows": 5, "cols": 5120, "dtype": "bf16", "stride": 3 * 5120, "ub": 1e4},   # bound above every absmax
    {"rows": 70, "cols": 8200, "dtype": "bf16"},
    {"rows": 4, "cols": 40000, "dtype": "fp16"},
    {"rows": 300, "cols": 136, "dtype": "fp16", "ub": 0.5},
]


def inputs(size, gen):
    rows, cols, dt = size["rows"], size["cols"], DTYPES[size["dtype"]]
    stride = size.get("stride", cols)
    buf = torch.randn(rows, stride, generator=gen, device="cuda")
    if rows > 1:
        buf[1] = 0  # a row of zeros: the scale floor keeps 0 / scale finite
    if rows > 2:
        buf[2] *= 8e3 if dt == torch.float16 else 1e30  # huge magnitudes, still finite in the dtype (fp16 max 65504)
    if rows > 3:
        buf[3, cols // 2] = -50.0  # one negative outlier sets the absmax
    t = {"x": buf.to(dt)[:, :cols]}
    t["ub"] = torch.tensor([size["ub"]], dtype=torch.float32, device="cuda") if "ub" in size else None
    return t


def outputs(t, size):
    rows, cols = size["rows"], size["cols"]
    out = torch.full((rows, cols), 0x7F, dtype=torch.uint8, device="cuda").view(FP8)  # E4M3 NaN
    return {"out": out, "scales": torch.full((rows,), float("nan"), device="cuda")}


THREADS = 256  # per block (vLLM's block size); rows up to THREADS x 32 elements stay in registers


def launch(mod, t, out, size):
    name = "fp8_quant_per_token_" + ("bf16" if size["dtype"] == "bf16" else "f16")
    ub = ptr(t["ub"]) if t["ub"] is not None else np.uint64(0)
    args = (ptr(out["out"]), ptr(out["scales"]), ptr(t["x"]), i64(t["x"].stride(0)), ub, i32(size["cols"]))
    fn(mod, name)((size["rows"],), (min(size["cols"], THREADS),), args)


def reference(t, size):
    x = t["x"].float()
    amax = x.abs().amax(dim=-1)
    if t["ub"] is not None:
        amax = torch.minimum(amax, t["ub"])
    s = (amax / FP8_MAX).clamp(min=MIN_SCALE)
    q = (x / s[:, None]).clamp(-FP8_MAX, FP8_MAX).to(FP8)
    return {"out": q, "scales": s}


def tolerance(size, t):
    # One E4M3 step: at most 1/8 of the value, 2^-9 below the normals. Scales agree to rounding.
    return {"atol": 2.0 ** -9, "rtol": 0.125}


def torch_op(t, size):
    x, ub = t["x"], t["ub"]

    def quant():
        xf = x.float()
        amax = xf.abs().amax(dim=-1, keepdim=True)
        if ub is not None:
            amax = torch.minimum(amax, ub)
        s = (amax / FP8_MAX).clamp(min=MIN_SCALE)
        return (xf / s).clamp(-FP8_MAX, FP8_MAX).to(FP8), s

    return quant


def model(size):
    n = size["rows"] * size["cols"]
    return 3 * n + 4 * size["rows"], 3 * n  # read 2 B, write 1 B per element; one fp32 scale per row
