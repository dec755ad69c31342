"""silu_and_mul as vLLM's act_and_mul_kernel: input [tokens, 2d] = [gate | up],
out [tokens, d] = silu(gate) * up, fp16 and bf16. Launch: one block per token."""
import torch
import torch.nn.functional as F

from tui.core.bench import fn, i32, ptr

DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}
BENCH = [("16384 tok, d=14336 bf16", {"tokens": 16384, "d": 14336, "dtype": "bf16"})]
TEST_SIZES = [
    {"tokens": 1, "d": 1, "dtype": "fp16"},
    {"tokens": 7, "d": 1001, "dtype": "bf16"},          # odd d: scalar path
    {"tokens": 5, "d": 14336, "dtype": "fp16"},
    {"tokens": 3, "d": 13, "dtype": "bf16", "big": True},  # |gate| up to ~1000: exp overflows in a naive sigmoid
    {"tokens": 33, "d": 8200, "dtype": "bf16", "big": True},
    {"tokens": 300, "d": 2744, "dtype": "fp16"},        # d % 8 == 0, d / 8 not a multiple of 32
    {"tokens": 2, "d": 20483, "dtype": "fp16"},         # d > 1024 and odd: block-stride loop
]


def inputs(size, gen):
    x = torch.randn(size["tokens"], 2 * size["d"], generator=gen, device="cuda")
    if size.get("big"):
        x[:, : size["d"]] *= 300  # the gate half
    return {"x": x.to(DTYPES[size["dtype"]])}


def outputs(t, size):
    return {"out": torch.full((size["tokens"], size["d"]), float("nan"), dtype=t["x"].dtype, device="cuda")}


def threads_for(d):
    return min(1024, max(32, d // 8)) if d % 8 == 0 else min(1024, max(32, d))


def launch(mod, t, out, size):
    name = "silu_and_mul_" + ("bf16" if size["dtype"] == "bf16" else "f16")
    fn(mod, name)((size["tokens"],), (threads_for(size["d"]),), (ptr(out["out"]), ptr(t["x"]), i32(size["d"])))


def reference(t, size):
    d = size["d"]
    return {"out": F.silu(t["x"][:, :d]) * t["x"][:, d:]}  # silu rounded to T, then the product rounded


def tolerance(size, t):
    # two units in the last place: expf vs torch's exp can move the rounded silu by one, the product by one more
    return {"atol": 1e-5, "rtol": 1.6e-2 if size["dtype"] == "bf16" else 2e-3}


def torch_op(t, size):
    d = size["d"]
    x = t["x"]
    return lambda: F.silu(x[:, :d]) * x[:, d:]


def model(size):
    n = size["tokens"] * size["d"]
    return 3 * n * 2, 5 * n  # read 2 elements, write 1, per output element
