"""Stage 3: a Triton RMSNorm whose BLOCK_SIZE and num_warps are launch
parameters, tuned through the stage-2 tuner.

y[r, :] = x[r, :] / sqrt(mean(x[r, :]^2) + eps) * weight, accumulated in fp32.
One program per row; walk the row in BLOCK_SIZE chunks twice (sum of squares,
then scale and store), so every BLOCK_SIZE works for every row length.
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
    # TODO: pass 1, sum of x*x over the row in fp32 (masked loads); rstd = 1 / sqrt(sum / cols + eps).
    # TODO: pass 2, y = x * rstd * w, stored in y's dtype (masked loads and stores).
    pass


def search_space(max_block: int = 128, warps: tuple[int, ...] = (1, 2, 4)) -> list[dict]:
    """BLOCK_SIZE in 16, 32, ... max_block (powers of two) x num_warps in `warps`,
    BLOCK_SIZE outer: [{"BLOCK_SIZE": 16, "num_warps": 1}, {"BLOCK_SIZE": 16, "num_warps": 2}, ...]."""
    raise NotImplementedError


def rmsnorm(x: torch.Tensor, weight: torch.Tensor, eps: float, config: dict) -> torch.Tensor:
    """RMSNorm of each row of the 2-D `x` (rows may be strided; columns
    contiguous) with one launch of `rmsnorm_kernel` under `config`."""
    raise NotImplementedError


def reference(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps) * weight.float()).to(x.dtype)


def make_benchmark(x: torch.Tensor, weight: torch.Tensor, eps: float, reps: int = 3):
    """A benchmark callable for tuner.tune: benchmark(config, shape) runs the
    config once and checks it against `reference` (raising when it differs),
    then returns the median of `reps` timings in ms per launch. On a GPU, time
    a CUDA graph of 10 launches between CUDA events (as vLLM's benchmark_config
    does) so launch overhead stays out; under TRITON_INTERPRET=1 the time is
    the interpreter's and means nothing."""
    raise NotImplementedError


def tuned_rmsnorm(x: torch.Tensor, weight: torch.Tensor, eps: float, tuner, cache_path, device_name: str,
                  reps: int = 3, **space):
    """RMSNorm with the config `tuner` (the stage-2 module) picks for x's shape on
    `device_name` among search_space(**space), cached in `cache_path` under
    KERNEL_NAME and KERNEL_VERSION, DEFAULT_CONFIG as the baseline.
    Returns (y, TuneResult)."""
    raise NotImplementedError
