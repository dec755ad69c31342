"""W8A16 GEMV: y = x @ (W_int8 * scale[:, None]).T for batch 1-4, fp16/bf16 activations,
per-output-channel fp32 scales applied after the reduction. Launch: one warp per output row."""
import torch

from tui.core.bench import fn, i32, ptr

DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}
BENCH = [("B1 4096x14336 bf16 (down_proj)", {"batch": 1, "n": 4096, "k": 14336, "dtype": "bf16"}),
         ("B4 4096x14336 bf16 (down_proj)", {"batch": 4, "n": 4096, "k": 14336, "dtype": "bf16"}),
         ("B1 28672x4096 bf16 (gate_up)", {"batch": 1, "n": 28672, "k": 4096, "dtype": "bf16"})]
TEST_SIZES = [
    {"batch": 1, "n": 1, "k": 16, "dtype": "bf16"},
    {"batch": 1, "n": 7, "k": 1000, "dtype": "fp16"},          # K % 16 != 0: scalar path
    {"batch": 2, "n": 33, "k": 4112, "dtype": "bf16"},         # K not a multiple of the 2048-wide unrolled step
    {"batch": 3, "n": 257, "k": 4104, "dtype": "fp16"},
    {"batch": 4, "n": 100, "k": 2064, "dtype": "fp16", "big": True},  # |x| ~ 50
    {"batch": 4, "n": 4096, "k": 14336, "dtype": "bf16"},
    {"batch": 1, "n": 1000, "k": 1600, "dtype": "bf16"},
]


def inputs(size, gen):
    b, n, k, dt = size["batch"], size["n"], size["k"], DTYPES[size["dtype"]]
    x = torch.randn(b, k, generator=gen, device="cuda")
    if size.get("big"):
        x *= 50
    # One spare row after W: a kernel that reads past row n - 1 reads real (wrong) weights, not a fault.
    wbuf = torch.randint(-128, 128, (n + 1, k), generator=gen, device="cuda", dtype=torch.int8)
    scale = (0.5 + torch.rand(n, generator=gen, device="cuda")) / 127  # non-default, per channel
    return {"x": x.to(dt), "w": wbuf[:n], "scale": scale}


def outputs(t, size):
    return {"y": torch.full((size["batch"], size["n"]), float("nan"), dtype=t["x"].dtype, device="cuda")}


def launch(mod, t, out, size):
    name = "int8_gemv_" + ("bf16" if size["dtype"] == "bf16" else "f16")
    args = (ptr(out["y"]), ptr(t["x"]), ptr(t["w"]), ptr(t["scale"]), i32(size["batch"]), i32(size["n"]),
            i32(size["k"]))
    fn(mod, name)((-(-size["n"] // 8),), (256,), args)


def reference(t, size):
    y = (t["x"].double() @ t["w"].double().T) * t["scale"].double()
    return {"y": y.to(t["x"].dtype)}


def tolerance(size, t):
    # outputs are ~0.6 * sqrt(K) * |x|; fp32 accumulation order adds far less than one output ulp
    scale = 50.0 if size.get("big") else 1.0
    return {"atol": 1e-4 * size["k"] ** 0.5 * scale, "rtol": 1.6e-2 if size["dtype"] == "bf16" else 2e-3}


def torch_op(t, size):
    """The same GEMV with bf16/fp16 weights (dequantised beforehand, not timed): 2 bytes per weight."""
    wd = (t["w"].float() * t["scale"][:, None]).to(t["x"].dtype)
    y = torch.empty(size["batch"], size["n"], dtype=t["x"].dtype, device="cuda")
    x = t["x"]
    return lambda: torch.matmul(x, wd.T, out=y)


def model(size):
    b, n, k = size["batch"], size["n"], size["k"]
    return n * k + 4 * n + 2 * b * (k + n), 2 * b * n * k  # int8 weights dominate
