"""Stage 1: a search space of tile configurations and pruning by resource limits.

The kernel family is a pipelined tiled GEMM-like kernel (the shape of vLLM's
Triton fused-MoE kernel): one program computes a BLOCK_M x BLOCK_N output tile,
stepping over K in BLOCK_K slices, with `num_stages` slices of A and B in
flight in shared memory, `num_warps` warps, and VEC-element vector loads.

Resource model (all integers, all documented in the README):
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

import itertools
from dataclasses import dataclass

KB = 1024


@dataclass(frozen=True)
class Device:
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


H100 = Device(name="NVIDIA H100 80GB HBM3", sm_count=132, smem_per_sm=228 * KB, smem_per_block=227 * KB)
A100 = Device(name="NVIDIA A100-SXM4-80GB", sm_count=108, smem_per_sm=164 * KB, smem_per_block=163 * KB)

# The parameters of a config, in enumeration order (the last one varies fastest).
PARAMS = ("BLOCK_M", "BLOCK_N", "BLOCK_K", "num_warps", "num_stages", "VEC")


def enumerate_configs(space: dict[str, list[int]]) -> list[dict[str, int]]:
    """Every combination of the values in `space`, as dicts, in itertools.product
    order over the keys as given (the last key varies fastest). Raises ValueError
    for an empty value list or a key that is not one of PARAMS."""
    for key, values in space.items():
        if key not in PARAMS:
            raise ValueError(f"unknown parameter {key!r}")
        if not values:
            raise ValueError(f"parameter {key!r} has no values")
    keys = list(space)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(space[k] for k in keys))]


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _round_up(a: int, unit: int) -> int:
    return _ceil_div(a, unit) * unit


def resources(cfg: dict, dev: Device, elem_bytes: int = 2, base_regs: int = 32) -> dict[str, int]:
    """threads, smem_bytes and regs_per_thread of one config (see the module docstring)."""
    threads = cfg["num_warps"] * dev.warp_size
    smem = cfg["num_stages"] * (cfg["BLOCK_M"] * cfg["BLOCK_K"] + cfg["BLOCK_K"] * cfg["BLOCK_N"]) * elem_bytes
    regs = base_regs + _ceil_div(cfg["BLOCK_M"] * cfg["BLOCK_N"], threads)
    return {"threads": threads, "smem_bytes": smem, "regs_per_thread": regs}


def occupancy(threads: int, regs_per_thread: int, smem_bytes: int, dev: Device) -> tuple[int, str]:
    """(resident blocks per SM, the limiting resource). The limiter is the first of
    "blocks", "warps", "registers", "smem" that reaches the minimum."""
    warps = _ceil_div(threads, dev.warp_size)
    limits = {
        "blocks": dev.max_blocks_per_sm,
        "warps": dev.max_threads_per_sm // (warps * dev.warp_size),
        "registers": dev.regs_per_sm // (_round_up(regs_per_thread * dev.warp_size, dev.reg_alloc_unit) * warps),
        "smem": dev.smem_per_sm // _round_up(smem_bytes + dev.smem_reserved_per_block, dev.smem_alloc_unit),
    }
    best = min(limits.values())
    return best, next(k for k, v in limits.items() if v == best)


def prune_reason(cfg: dict, dev: Device, elem_bytes: int = 2, base_regs: int = 32) -> str | None:
    """Why `cfg` cannot run on `dev`, or None when it can. Checked in this order:
    "threads", "vector", "smem", "registers", "occupancy"."""
    r = resources(cfg, dev, elem_bytes, base_regs)
    if r["threads"] > dev.max_threads_per_block:
        return "threads"
    vec = cfg.get("VEC", 1)
    if vec * elem_bytes > dev.max_vector_bytes or cfg["BLOCK_K"] % vec:
        return "vector"
    if r["smem_bytes"] > dev.smem_per_block:
        return "smem"
    if r["regs_per_thread"] > dev.max_regs_per_thread:
        return "registers"
    if occupancy(r["threads"], r["regs_per_thread"], r["smem_bytes"], dev)[0] < 1:
        return "occupancy"
    return None


def prune(configs: list[dict], dev: Device, elem_bytes: int = 2, base_regs: int = 32,
          min_blocks_per_sm: int = 1) -> list[dict]:
    """The configs that run on `dev` with at least `min_blocks_per_sm` resident
    blocks per SM, in their input order, each extended with its "occupancy"
    (blocks per SM) and "limiter"."""
    kept = []
    for cfg in configs:
        if prune_reason(cfg, dev, elem_bytes, base_regs) is not None:
            continue
        r = resources(cfg, dev, elem_bytes, base_regs)
        blocks, limiter = occupancy(r["threads"], r["regs_per_thread"], r["smem_bytes"], dev)
        if blocks >= min_blocks_per_sm:
            kept.append({**cfg, "occupancy": blocks, "limiter": limiter})
    return kept
