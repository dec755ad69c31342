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
    """Reduce-scatter then all-gather around a ring of p ranks (0 for p == 1)."""
    raise NotImplementedError


def tree_allreduce_time(nbytes: float, p: int, alpha: float, beta: float) -> float:
    """Pipelined reduce up a binary tree of depth ceil(log2 p), then broadcast down (0 for p == 1)."""
    raise NotImplementedError


def fit_alpha_beta(samples, algo: str = "ring") -> tuple[float, float]:
    """Least-squares (alpha, beta) from samples [(p, nbytes, seconds)] for algo 'ring' or 'tree'
    (ValueError otherwise), minimising RELATIVE error."""
    raise NotImplementedError


def latency_bandwidth_crossover(p: int, alpha: float, beta: float) -> float:
    """Message size (bytes) at which the ring's latency and bandwidth terms are equal."""
    raise NotImplementedError


def ring_tree_crossover(p: int, alpha: float, beta: float) -> float:
    """Message size (bytes) below which the tree beats the ring (0 when it never does)."""
    raise NotImplementedError


def time_all_reduce(group, nbytes: int, repeats: int, warmup: int = 1) -> list[float]:
    """Seconds of `repeats` all-reduces of an nbytes float32 tensor; every rank returns the same
    list (each repeat's time is the slowest rank's)."""
    raise NotImplementedError
