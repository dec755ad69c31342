"""Tensor-core GEMM: C[M, N] = A[M, K] @ B[N, K]^T, fp16 or bf16, fp32 accumulation.
Launch: grid (ceil(N/128), ceil(M/128)), 256 threads. K must be a multiple of 8."""
import torch

from tui.core.bench import fn, i32, ptr

DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16}
BENCH = [("4096^3 fp16", {"m": 4096, "n": 4096, "k": 4096, "dtype": "float16"}),
         ("4096^3 bf16", {"m": 4096, "n": 4096, "k": 4096, "dtype": "bfloat16"}),
         ("8192x4096x14336 bf16 (down_proj)", {"m": 8192, "n": 4096, "k": 14336, "dtype": "bfloat16"})]
TEST_SIZES = [
    {"m": 1, "n": 1, "k": 8, "dtype": "float16"},
    {"m": 127, "n": 129, "k": 72, "dtype": "bfloat16"},   # neither a multiple of the tile, K not of 32
    {"m": 256, "n": 256, "k": 256, "dtype": "float16"},
    {"m": 100, "n": 301, "k": 8, "dtype": "bfloat16"},    # odd N: scalar stores
    {"m": 513, "n": 1001, "k": 136, "dtype": "float16"},
    {"m": 64, "n": 4096, "k": 4096, "dtype": "bfloat16"},
    {"m": 1000, "n": 1000, "k": 1000, "dtype": "float16", "big": True},  # |a|, |b| ~ 8
]


def inputs(size, gen):
    m, n, k, dt = size["m"], size["n"], size["k"], DTYPES[size["dtype"]]
    # One spare row of NaN after A and after B: reading past K or past the last row shows up.
    a = torch.randn(m + 1, k, generator=gen, device="cuda")
    b = torch.randn(n + 1, k, generator=gen, device="cuda")
    if size.get("big"):
        a *= 8
        b *= 8
    a[m] = float("nan")
    b[n] = float("nan")
    return {"a": a.to(dt)[:m], "b": b.to(dt)[:n]}


def outputs(t, size):
    return {"c": torch.full((size["m"], size["n"]), float("nan"), dtype=t["a"].dtype, device="cuda")}


def launch(mod, t, out, size):
    m, n, k = size["m"], size["n"], size["k"]
    name = "tc_gemm_" + ("bf16" if size["dtype"] == "bfloat16" else "f16")
    fn(mod, name)((-(-n // 128), -(-m // 128)), (256,), (ptr(out["c"]), ptr(t["a"]), ptr(t["b"]), i32(m), i32(n), i32(k)))


def reference(t, size):
    return {"c": (t["a"].double() @ t["b"].double().T).to(t["a"].dtype)}


def tolerance(size, t):
    # one rounding of the output (2 ulps of slack) plus fp32 accumulation order, which grows like sqrt(K)
    spread = 64.0 if size.get("big") else 1.0
    return {"atol": 2e-4 * size["k"] ** 0.5 * spread, "rtol": 1.6e-2 if size["dtype"] == "bfloat16" else 2e-3}


def torch_op(t, size):
    c = torch.empty(size["m"], size["n"], dtype=t["a"].dtype, device="cuda")
    a, b = t["a"], t["b"]
    return lambda: torch.matmul(a, b.T, out=c)  # cuBLAS


def model(size):
    m, n, k = size["m"], size["n"], size["k"]
    return 2 * (m * k + n * k + m * n), 2 * m * n * k
