"""Stage 3: a Triton RMSNorm whose BLOCK_SIZE and num_warps are launch
parameters, tuned through the stage-2 tuner.

y[r, :] = x[r, :] / sqrt(mean(x[r, :]^2) + eps) * weight, accumulated in fp32.
One program per row; the row is walked in BLOCK_SIZE chunks twice (sum of
squares, then scale and store), so every BLOCK_SIZE works for every row length
and the last chunk of a row is masked.
"""
from __future__ import annotations

import time

import torch
import triton
import triton.language as tl

KERNEL_NAME = "rmsnorm"
KERNEL_VERSION = "1"
DEFAULT_CONFIG = {"BLOCK_SIZE": 64, "num_warps": 4}


@triton.jit
def rmsnorm_kernel(x_ptr, w_ptr, y_ptr, cols, stride_x, stride_y, eps, BLOCK_SIZE: tl.constexpr):
    row = tl.program_id(0)
    x_row = x_ptr + row * stride_x
    y_row = y_ptr + row * stride_y
    acc = tl.zeros([BLOCK_SIZE], tl.float32)
    for start in range(0, cols, BLOCK_SIZE):
        offs = start + tl.arange(0, BLOCK_SIZE)
        x = tl.load(x_row + offs, mask=offs < cols, other=0.0).to(tl.float32)
        acc += x * x
    rstd = 1.0 / tl.sqrt(tl.sum(acc, 0) / cols + eps)
    for start in range(0, cols, BLOCK_SIZE):
        offs = start + tl.arange(0, BLOCK_SIZE)
        mask = offs < cols
        x = tl.load(x_row + offs, mask=mask, other=0.0).to(tl.float32)
        w = tl.load(w_ptr + offs, mask=mask, other=0.0).to(tl.float32)
        tl.store(y_row + offs, (x * rstd * w).to(y_ptr.dtype.element_ty), mask=mask)


def search_space(max_block: int = 128, warps: tuple[int, ...] = (1, 2, 4)) -> list[dict]:
    """BLOCK_SIZE in 16, 32, ... max_block (powers of two) x num_warps in `warps`,
    BLOCK_SIZE outer. The default (12 configs) keeps interpreter runs short; on a
    GPU, rows of thousands of elements want max_block=4096 and 8 warps too."""
    blocks = [1 << i for i in range(4, max_block.bit_length()) if 1 << i <= max_block]
    return [{"BLOCK_SIZE": b, "num_warps": w} for b in blocks for w in warps]


def rmsnorm(x: torch.Tensor, weight: torch.Tensor, eps: float, config: dict) -> torch.Tensor:
    """RMSNorm of each row of the 2-D `x` (its rows may be strided; columns
    contiguous) with one launch of `rmsnorm_kernel` under `config`."""
    if x.dim() != 2 or x.stride(1) != 1 or weight.shape != (x.shape[1],):
        raise ValueError("x must be 2-D with contiguous rows and weight of length x.shape[1]")
    rows, cols = x.shape
    y = torch.empty((rows, cols), dtype=x.dtype, device=x.device)
    rmsnorm_kernel[(rows,)](x, weight, y, cols, x.stride(0), y.stride(0), eps,
                            BLOCK_SIZE=config["BLOCK_SIZE"], num_warps=config["num_warps"])
    return y


def reference(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps) * weight.float()).to(x.dtype)


def _time_cuda_graph(fn, reps: int, launches: int = 10) -> float:
    """Median ms per launch of `fn`, timed as vLLM's benchmarks/kernels/benchmark_moe.py::benchmark_config
    does: `launches` calls captured in one CUDA graph, replayed between CUDA events,
    so Python and launch overhead stay out of the figure."""
    fn()  # compile and warm up outside the capture
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        for _ in range(launches):
            fn()
    graph.replay()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    times = []
    for _ in range(reps):
        start.record()
        graph.replay()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / launches)
    return sorted(times)[len(times) // 2]


def make_benchmark(x: torch.Tensor, weight: torch.Tensor, eps: float, reps: int = 3):
    """A benchmark callable for tuner.tune: runs the config once and checks it
    against `reference` (a wrong config raises, so the tuner skips it), then
    returns the median of `reps` timings in ms per launch. On a GPU each timing
    replays a CUDA graph of 10 launches; under TRITON_INTERPRET=1 it is wall
    time of the interpreter, not of the kernel, so the winner it picks on a CPU
    means nothing."""
    expected = reference(x, weight, eps)
    tol = dict(atol=1e-5, rtol=1e-5) if x.dtype == torch.float32 else dict(atol=2e-2, rtol=2e-2)

    def benchmark(config: dict, shape) -> float:
        torch.testing.assert_close(rmsnorm(x, weight, eps, config), expected, **tol)
        if x.is_cuda:
            return _time_cuda_graph(lambda: rmsnorm(x, weight, eps, config), reps)
        times = []
        for _ in range(reps):
            start = time.perf_counter()
            rmsnorm(x, weight, eps, config)
            times.append((time.perf_counter() - start) * 1e3)
        return sorted(times)[len(times) // 2]

    return benchmark


def tuned_rmsnorm(x: torch.Tensor, weight: torch.Tensor, eps: float, tuner, cache_path, device_name: str,
                  reps: int = 3, **space):
    """RMSNorm with the config `tuner` (the stage-2 module) picks for x's shape on
    `device_name` among search_space(**space), cached in `cache_path` under
    KERNEL_NAME and KERNEL_VERSION. Returns (y, TuneResult)."""
    cache = tuner.ConfigCache(cache_path, device_name, KERNEL_NAME, KERNEL_VERSION)
    result = tuner.tune(cache, tuple(x.shape), search_space(**space), make_benchmark(x, weight, eps, reps),
                        DEFAULT_CONFIG)
    return rmsnorm(x, weight, eps, result.config), result
