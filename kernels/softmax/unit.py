"""softmax over the last dim, fp16 or fp32. Launch: one block per row; threads
chosen so the row fits in registers (4 x 16-byte vectors a thread) when it can."""
import torch

from tui.core.bench import fn, i32, ptr

BENCH = [("32768x4096 fp16", {"rows": 32768, "cols": 4096, "dtype": "float16"}),
         ("32768x4096 fp32", {"rows": 32768, "cols": 4096, "dtype": "float32"})]
TEST_SIZES = [{"rows": r, "cols": c, "dtype": d}
              for d in ("float16", "float32")
              for r, c in ((1, 1), (7, 1000), (5, 4097), (3, 4096), (33, 129), (2, 40000))]


def _dtype(size):
    return getattr(torch, size["dtype"])


def inputs(size, gen):
    x = torch.randn(size["rows"], size["cols"], generator=gen, device="cuda") * 3
    return {"x": x.to(_dtype(size))}


def outputs(t, size):
    return {"y": torch.full_like(t["x"], float("nan"))}


def threads_for(cols, dtype):
    vec = 8 if dtype == "float16" else 4
    vectors = -(-cols // vec)
    if cols % vec == 0 and vectors <= 1024 * 4:
        return min(1024, max(32, ((-(-vectors // 4) + 31) // 32) * 32))
    return min(512, max(32, (cols + 31) // 32 * 32))


def launch(mod, t, out, size):
    name = "softmax_f16" if size["dtype"] == "float16" else "softmax_f32"
    threads = threads_for(size["cols"], size["dtype"])
    fn(mod, name)((size["rows"],), (threads,), (ptr(t["x"]), ptr(out["y"]), i32(size["cols"])))


def reference(t, size):
    return {"y": torch.softmax(t["x"].float(), dim=-1).to(t["x"].dtype)}


def tolerance(size, t):
    return {"atol": 1e-5, "rtol": 2e-3} if size["dtype"] == "float16" else {"atol": 1e-7, "rtol": 1e-5}


def torch_op(t, size):
    return lambda: torch.softmax(t["x"], dim=-1)


def model(size):
    elem = 2 if size["dtype"] == "float16" else 4
    n = size["rows"] * size["cols"]
    return 2 * n * elem, 5 * n  # read + write; max, sub, exp, add, mul
