"""transpose: out = in.T for an fp32 matrix. Launch: 32x32 tiles, 32x8 threads."""
import torch

from tui.core.bench import fn, i32, ptr

BENCH = [("16384x16384 fp32", {"rows": 16384, "cols": 16384})]
TEST_SIZES = [{"rows": 1, "cols": 1}, {"rows": 33, "cols": 65}, {"rows": 100, "cols": 257},
              {"rows": 1023, "cols": 31}, {"rows": 2049, "cols": 4095}]


def inputs(size, gen):
    return {"x": torch.randn(size["rows"], size["cols"], generator=gen, device="cuda")}


def outputs(t, size):
    return {"y": torch.full((size["cols"], size["rows"]), float("nan"), device="cuda")}


def launch(mod, t, out, size):
    rows, cols = size["rows"], size["cols"]
    grid = (-(-cols // 32), -(-rows // 32))
    fn(mod, "transpose_f32")(grid, (32, 8), (ptr(t["x"]), ptr(out["y"]), i32(rows), i32(cols)))


def reference(t, size):
    return {"y": t["x"].t().contiguous()}


def tolerance(size, t):
    return {"atol": 0.0, "rtol": 0.0}


def torch_op(t, size):
    y = torch.empty(size["cols"], size["rows"], device="cuda")
    return lambda: y.copy_(t["x"].t())


def model(size):
    return 8 * size["rows"] * size["cols"], 0
