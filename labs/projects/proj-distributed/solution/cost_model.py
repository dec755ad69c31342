"""An α–β cost model of all-reduce (stage 4), fitted to all_reduce times measured here.

Convention (as in lesson m05-collectives-nccl): a message of n bytes over one link
costs alpha + n / beta; alpha in seconds, beta in bytes per second.
"""
from __future__ import annotations

import math
import time

import torch
import torch.distributed as dist


def ring_allreduce_time(nbytes: float, p: int, alpha: float, beta: float) -> float:
    """Reduce-scatter then all-gather around a ring: 2(p-1) steps of n/p bytes each."""
    if p == 1:
        return 0.0
    return 2 * (p - 1) * alpha + 2 * (p - 1) / p * nbytes / beta


def tree_allreduce_time(nbytes: float, p: int, alpha: float, beta: float) -> float:
    """Pipelined reduce up a binary tree then broadcast down it: 2 * ceil(log2 p) latencies,
    and the whole message crosses a link twice."""
    if p == 1:
        return 0.0
    return 2 * math.ceil(math.log2(p)) * alpha + 2 * nbytes / beta


def _terms(algo: str, p: int, nbytes: float) -> tuple[float, float]:
    """(coefficient of alpha, coefficient of 1/beta): time = a * alpha + b * (1 / beta)."""
    if algo == "ring":
        return 2 * (p - 1), 2 * (p - 1) / p * nbytes
    if algo == "tree":
        return 2 * math.ceil(math.log2(p)), 2 * nbytes
    raise ValueError(f"unknown algorithm {algo!r}: 'ring' or 'tree'")


def fit_alpha_beta(samples, algo: str = "ring") -> tuple[float, float]:
    """Least-squares (alpha, beta) from samples [(p, nbytes, seconds)], minimising RELATIVE error
    (each row divided by its measured time), so 4 KB points count as much as 16 MB ones."""
    rows, rhs = [], []
    for p, nbytes, seconds in samples:
        a, b = _terms(algo, p, nbytes)
        rows.append([a / seconds, b / seconds])
        rhs.append(1.0)
    if len(rows) < 2:
        raise ValueError("need at least two samples to fit two parameters")
    sol = torch.linalg.lstsq(torch.tensor(rows, dtype=torch.float64),
                             torch.tensor(rhs, dtype=torch.float64).unsqueeze(1)).solution.flatten()
    alpha, inv_beta = float(sol[0]), float(sol[1])
    if inv_beta <= 0:
        raise ValueError("the fit found no bandwidth term (1/beta <= 0): measure larger messages")
    return max(alpha, 0.0), 1.0 / inv_beta


def latency_bandwidth_crossover(p: int, alpha: float, beta: float) -> float:
    """Message size (bytes) at which the ring's latency and bandwidth terms are equal."""
    return p * alpha * beta


def ring_tree_crossover(p: int, alpha: float, beta: float) -> float:
    """Message size (bytes) below which the tree beats the ring (0 when it never does)."""
    a_ring, _ = _terms("ring", p, 0)
    a_tree, _ = _terms("tree", p, 0)
    return max(0.0, (a_ring - a_tree) * alpha * beta * p / 2)


def time_all_reduce(group, nbytes: int, repeats: int, warmup: int = 1) -> list[float]:
    """Seconds of `repeats` in-place all-reduces of an nbytes float32 tensor. Every rank returns
    the same list: each repeat is timed after a barrier, and its time is the slowest rank's."""
    buf = torch.ones(nbytes // 4, dtype=torch.float32, device=group.device)
    times = []
    for i in range(warmup + repeats):
        group.barrier()
        t0 = time.perf_counter()
        dist.all_reduce(buf)
        if buf.is_cuda:  # under NCCL the collective is asynchronous to the host
            torch.cuda.synchronize(buf.device)
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    slowest = torch.tensor(times, dtype=torch.float64, device=group.device)
    dist.all_reduce(slowest, op=dist.ReduceOp.MAX)
    return slowest.tolist()
