"""rms_norm (out of place) and fused_add_rms_norm (in place, as in vLLM), fp16.
Launch: one block per row, threads so each holds up to 4 x 16-byte vectors."""
import torch
import torch.nn.functional as F

from tui.core.bench import f32, fn, i32, ptr

EPS = 1e-6
BENCH = [("rms_norm 32768x4096 fp16", {"rows": 32768, "cols": 4096, "op": "rms_norm"}),
         ("fused_add_rms_norm 32768x4096 fp16", {"rows": 32768, "cols": 4096, "op": "fused_add"})]
TEST_SIZES = [{"rows": r, "cols": c, "op": op}
              for op in ("rms_norm", "fused_add")
              for r, c in ((1, 8), (7, 1000), (5, 4096), (3, 4104), (2, 40000), (65, 5120))]


def inputs(size, gen):
    shape = (size["rows"], size["cols"])
    return {
        "x": torch.randn(shape, generator=gen, device="cuda").half(),
        "residual": torch.randn(shape, generator=gen, device="cuda").half(),
        "w": (1 + 0.1 * torch.randn(size["cols"], generator=gen, device="cuda")).half(),
    }


def outputs(t, size):
    if size["op"] == "rms_norm":
        return {"out": torch.full_like(t["x"], float("nan"))}
    return {"x": t["x"].clone(), "residual": t["residual"].clone()}  # in place: start from the inputs


def threads_for(cols):
    if cols % 8 == 0 and cols <= 1024 * 32:
        return min(1024, max(32, ((-(-cols // 32)) + 31) // 32 * 32))
    return min(512, max(32, (cols + 31) // 32 * 32))


def launch(mod, t, out, size):
    rows, cols = size["rows"], size["cols"]
    threads = threads_for(cols)
    if size["op"] == "rms_norm":
        args = (ptr(out["out"]), ptr(t["x"]), ptr(t["w"]), i32(cols), f32(EPS))
        fn(mod, "rms_norm_f16")((rows,), (threads,), args)
    else:
        args = (ptr(out["x"]), ptr(out["residual"]), ptr(t["w"]), i32(cols), f32(EPS))
        fn(mod, "fused_add_rms_norm_f16")((rows,), (threads,), args)


def _rms(z, w):
    zf = z.float()
    return (zf * torch.rsqrt(zf.pow(2).mean(-1, keepdim=True) + EPS) * w.float()).half()


def reference(t, size):
    if size["op"] == "rms_norm":
        return {"out": _rms(t["x"], t["w"])}
    z = t["x"] + t["residual"]  # fp16 add: rounded once, as the kernel does
    return {"x": _rms(z, t["w"]), "residual": z}


def tolerance(size, t):
    return {"atol": 2e-3, "rtol": 2e-3}  # one fp16 ulp either way


def torch_op(t, size):
    x, w, cols = t["x"], t["w"], size["cols"]
    if size["op"] == "rms_norm":
        return lambda: F.rms_norm(x, (cols,), w, EPS)
    res = t["residual"].clone()

    def fused():
        res.add_(x)
        return F.rms_norm(res, (cols,), w, EPS)

    return fused


def model(size):
    n = size["rows"] * size["cols"]
    if size["op"] == "rms_norm":
        return 2 * n * 2 + 2 * size["cols"], 4 * n
    return 4 * n * 2 + 2 * size["cols"], 5 * n
