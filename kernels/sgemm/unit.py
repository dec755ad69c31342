"""sgemm: C = A @ B, fp32 on CUDA cores. Launch: 128x128 tiles, 256 threads."""
import torch

from tui.core.bench import fn, i32, ptr

BENCH = [("4096^3 fp32 (TF32 off)", {"m": 4096, "n": 4096, "k": 4096})]
TEST_SIZES = [{"m": 1, "n": 1, "k": 1}, {"m": 127, "n": 129, "k": 65}, {"m": 256, "n": 256, "k": 256},
              {"m": 100, "n": 300, "k": 7}, {"m": 513, "n": 1001, "k": 130}]


def inputs(size, gen):
    return {"a": torch.randn(size["m"], size["k"], generator=gen, device="cuda"),
            "b": torch.randn(size["k"], size["n"], generator=gen, device="cuda")}


def outputs(t, size):
    return {"c": torch.full((size["m"], size["n"]), float("nan"), device="cuda")}


def launch(mod, t, out, size):
    m, n, k = size["m"], size["n"], size["k"]
    grid = (-(-n // 128), -(-m // 128))
    fn(mod, "sgemm_f32")(grid, (256,), (ptr(t["a"]), ptr(t["b"]), ptr(out["c"]), i32(m), i32(n), i32(k)))


def reference(t, size):
    return {"c": (t["a"].double() @ t["b"].double()).float()}


def tolerance(size, t):
    # Each output sums k products of N(0,1) values: rounding grows like sqrt(k).
    return {"atol": 2e-6 * size["k"] ** 0.5 * 8, "rtol": 1e-5}


def no_tf32():
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        torch.backends.cuda.matmul.fp32_precision = "ieee"
    except (AttributeError, RuntimeError):
        pass


def torch_op(t, size):
    no_tf32()
    c = torch.empty(size["m"], size["n"], device="cuda")
    return lambda: torch.matmul(t["a"], t["b"], out=c)


def model(size):
    m, n, k = size["m"], size["n"], size["k"]
    return 4 * (m * k + k * n + m * n), 2 * m * n * k
