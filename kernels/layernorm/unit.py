"""layer_norm, fp16 in/out, fp32 statistics. Launch: one block per row."""
import torch
import torch.nn.functional as F

from tui.core.bench import f32, fn, i32, ptr

EPS = 1e-5
BENCH = [("32768x4096 fp16", {"rows": 32768, "cols": 4096})]
TEST_SIZES = [{"rows": r, "cols": c} for r, c in ((1, 8), (7, 1000), (5, 4096), (3, 4104), (2, 40000), (65, 5120))]


def inputs(size, gen):
    shape = (size["rows"], size["cols"])
    return {
        "x": (2 + 3 * torch.randn(shape, generator=gen, device="cuda")).half(),  # a non-zero mean
        "w": (1 + 0.1 * torch.randn(size["cols"], generator=gen, device="cuda")).half(),
        "b": (0.1 * torch.randn(size["cols"], generator=gen, device="cuda")).half(),
    }


def outputs(t, size):
    return {"out": torch.full_like(t["x"], float("nan"))}


def threads_for(cols):
    if cols % 8 == 0 and cols <= 1024 * 32:
        return min(1024, max(32, ((-(-cols // 32)) + 31) // 32 * 32))
    return min(512, max(32, (cols + 31) // 32 * 32))


def launch(mod, t, out, size):
    args = (ptr(out["out"]), ptr(t["x"]), ptr(t["w"]), ptr(t["b"]), i32(size["cols"]), f32(EPS))
    fn(mod, "layer_norm_f16")((size["rows"],), (threads_for(size["cols"]),), args)


def reference(t, size):
    y = F.layer_norm(t["x"].float(), (size["cols"],), t["w"].float(), t["b"].float(), EPS)
    return {"out": y.half()}


def tolerance(size, t):
    return {"atol": 2e-3, "rtol": 2e-3}


def torch_op(t, size):
    return lambda: F.layer_norm(t["x"], (size["cols"],), t["w"], t["b"], EPS)


def model(size):
    n = size["rows"] * size["cols"]
    return 2 * n * 2 + 4 * size["cols"], 7 * n
