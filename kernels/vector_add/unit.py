"""vector_add: c = a + b, fp32. Launch: one float4 per thread, 256 threads a block."""
import torch

from tui.core.bench import fn, i64, ptr

BENCH = [("n=2^28 fp32", {"n": 1 << 28})]
TEST_SIZES = [{"n": 1}, {"n": 3}, {"n": 4099}, {"n": 1_000_003}]


def inputs(size, gen):
    n = size["n"]
    return {"a": torch.randn(n, generator=gen, device="cuda"), "b": torch.randn(n, generator=gen, device="cuda")}


def outputs(t, size):
    return {"c": torch.full_like(t["a"], float("nan"))}


def launch(mod, t, out, size):
    n = size["n"]
    threads = 256
    blocks = max(1, -(-(-(-n // 4)) // threads))
    fn(mod, "vector_add_f32")((blocks,), (threads,), (ptr(t["a"]), ptr(t["b"]), ptr(out["c"]), i64(n)))


def reference(t, size):
    return {"c": t["a"] + t["b"]}


def tolerance(size, t):
    return {"atol": 0.0, "rtol": 0.0}  # one rounding, same as PyTorch's


def torch_op(t, size):
    c = torch.empty_like(t["a"])
    return lambda: torch.add(t["a"], t["b"], out=c)


def model(size):
    n = size["n"]
    return 12 * n, n  # bytes (read a, b; write c), FLOPs
