"""Stage 1: a search space of tile configurations and pruning by resource limits.

The kernel family is a pipelined tiled GEMM-like kernel (the shape of vLLM's
Triton fused-MoE kernel): one program computes a BLOCK_M x BLOCK_N output tile,
stepping over K in BLOCK_K slices, with `num_stages` slices of A and B in
flight in shared memory, `num_warps` warps, and VEC-element vector loads.

Resource model (all integers; the README explains each term):
  threads          = num_warps * warp_size
  smem_bytes       = num_stages * (BLOCK_M * BLOCK_K + BLOCK_K * BLOCK_N) * elem_bytes
  regs_per_thread  = base_regs + ceil(BLOCK_M * BLOCK_N / threads)   (fp32 accumulator)
Occupancy (resident blocks per SM) is the minimum over four limits:
  blocks  : max_blocks_per_sm
  warps   : max_threads_per_sm // threads
  regs    : regs_per_sm // (round_up(regs_per_thread * warp_size, reg_alloc_unit) * num_warps)
  smem    : smem_per_sm // round_up(smem_bytes + smem_reserved_per_block, smem_alloc_unit)
"""
from __future__ import annotations

from dataclasses import dataclass

KB = 1024


@dataclass(frozen=True)
class Device:
    """One GPU's per-SM and per-block limits (CUDA Programming Guide, compute capabilities)."""
    name: str
    sm_count: int
    max_threads_per_block: int = 1024
    max_threads_per_sm: int = 2048
    max_blocks_per_sm: int = 32
    regs_per_sm: int = 64 * KB
    max_regs_per_thread: int = 255
    reg_alloc_unit: int = 256  # registers are allocated per warp in units of 256
    smem_per_sm: int = 228 * KB
    smem_per_block: int = 227 * KB  # the most one block may ask for (opt-in)
    smem_reserved_per_block: int = 1 * KB  # CUDA keeps 1 KB per resident block
    smem_alloc_unit: int = 128
    warp_size: int = 32
    max_vector_bytes: int = 16  # widest global load: 128 bits


# TODO: an H100 SXM (132 SMs, 228 KB smem per SM, 227 KB per block) and an
# A100 SXM (108 SMs, 164 KB per SM, 163 KB per block). Use the names
# torch.cuda.get_device_name() reports: "NVIDIA H100 80GB HBM3", "NVIDIA A100-SXM4-80GB".
H100: Device = None
A100: Device = None

# The parameters of a config.
PARAMS = ("BLOCK_M", "BLOCK_N", "BLOCK_K", "num_warps", "num_stages", "VEC")


def enumerate_configs(space: dict[str, list[int]]) -> list[dict[str, int]]:
    """Every combination of the values in `space`, as dicts, in itertools.product
    order over the keys as given (the last key varies fastest). Raises ValueError
    for an empty value list or a key that is not one of PARAMS."""
    raise NotImplementedError


def resources(cfg: dict, dev: Device, elem_bytes: int = 2, base_regs: int = 32) -> dict[str, int]:
    """{"threads", "smem_bytes", "regs_per_thread"} of one config (see the module docstring)."""
    raise NotImplementedError


def occupancy(threads: int, regs_per_thread: int, smem_bytes: int, dev: Device) -> tuple[int, str]:
    """(resident blocks per SM, the limiting resource). The limiter is the first of
    "blocks", "warps", "registers", "smem" that reaches the minimum."""
    raise NotImplementedError


def prune_reason(cfg: dict, dev: Device, elem_bytes: int = 2, base_regs: int = 32) -> str | None:
    """Why `cfg` cannot run on `dev`, or None when it can. Checked in this order:
    "threads" (more than max_threads_per_block), "vector" (VEC * elem_bytes over
    max_vector_bytes, or BLOCK_K not a multiple of VEC; VEC defaults to 1),
    "smem" (smem_bytes over smem_per_block), "registers" (over
    max_regs_per_thread), "occupancy" (zero blocks fit on an SM)."""
    raise NotImplementedError


def prune(configs: list[dict], dev: Device, elem_bytes: int = 2, base_regs: int = 32,
          min_blocks_per_sm: int = 1) -> list[dict]:
    """The configs that run on `dev` with at least `min_blocks_per_sm` resident
    blocks per SM, in their input order, each as a new dict extended with its
    "occupancy" (blocks per SM) and "limiter". The input dicts are not modified."""
    raise NotImplementedError
