"""reduction: sum of an fp32 vector. Launch: SMs x 8 blocks of 256 threads write
partials, then one block of 1024 threads sums the partials (same kernel)."""
import torch

from tui.core.bench import fn, i64, ptr, sm_count

BENCH = [("n=2^28 fp32", {"n": 1 << 28})]
TEST_SIZES = [{"n": 1}, {"n": 5}, {"n": 4097}, {"n": 1_000_003}, {"n": 33_554_433}]


def inputs(size, gen):
    return {"x": torch.randn(size["n"], generator=gen, device="cuda")}


def outputs(t, size):
    return {"sum": torch.full((1,), float("nan"), device="cuda")}


def launch(mod, t, out, size):
    n = size["n"]
    threads = 256
    blocks = max(1, min(sm_count() * 8, -(-n // (threads * 4))))
    partial = torch.empty(blocks, device="cuda")
    k = fn(mod, "reduce_sum_f32")
    k((blocks,), (threads,), (ptr(t["x"]), ptr(partial), i64(n)))
    k((1,), (1024,), (ptr(partial), ptr(out["sum"]), i64(blocks)))


def reference(t, size):
    return {"sum": t["x"].double().sum().reshape(1).float()}


def tolerance(size, t):
    # fp32 rounding grows with the number of additions; scale by the sum of |x|.
    return {"atol": 1e-6 * float(t["x"].abs().sum()) + 1e-6, "rtol": 0.0}


def torch_op(t, size):
    return lambda: torch.sum(t["x"])


def model(size):
    return 4 * size["n"], size["n"]
