"""Tensor-parallel layers (stages 1 and 2).

Every constructor takes the FULL weight ([out_features, in_features], as
nn.Linear) and keeps only this rank's shard; `group` (comm.Group) says which
rank this is (group.rank, group.world_size) and carries the collectives
(group.all_reduce, group.all_gather). Constructors must not communicate.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


# ------------------------------------------------------------------ stage 1


def divide(numerator: int, denominator: int) -> int:
    """numerator // denominator; ValueError naming both when it does not divide evenly."""
    raise NotImplementedError


def shard(t: torch.Tensor, dim: int, rank: int, world: int) -> torch.Tensor:
    """Rank's contiguous 1/world slice of t along dim (a copy, not a view of the full tensor)."""
    raise NotImplementedError


class ColumnParallelLinear:
    """Y = X W^T + b with W split by output features (rows of W).
    Attributes: weight, bias (this rank's shards), output_size_per_partition."""

    def __init__(self, weight, bias, group, gather_output: bool = False):
        raise NotImplementedError

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """This rank's output features, or all of them (in order) when gather_output."""
        raise NotImplementedError


class MergedColumnParallelLinear(ColumnParallelLinear):
    """Several column-parallel matrices with the same input (gate and up) in one GEMM.
    Attributes: weight (this rank's stacked shards), output_sizes (local rows of each part)."""

    def __init__(self, weights: list, group):
        raise NotImplementedError


class RowParallelLinear:
    """Y = X W^T + b with W split by input features (columns of W).
    input_is_parallel=False: x is the full input and the layer takes its own slice.
    reduce_results=False: return this rank's partial sum (a bias is then refused: ValueError)."""

    def __init__(self, weight, bias, group, input_is_parallel: bool = True, reduce_results: bool = True):
        raise NotImplementedError

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class TPMLP:
    """down(silu(gate(x)) * up(x)): gate/up merged column-parallel, down row-parallel."""

    def __init__(self, gate, up, down, group):
        raise NotImplementedError

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


# ------------------------------------------------------------------ stage 2


class QKVParallelLinear:
    """Q, K and V projections in one column-parallel GEMM, split by heads.
    Attributes: head_dim, num_heads and num_kv_heads (local counts), num_kv_head_replicas,
    q_head_ids and kv_head_ids (the global head indices this rank holds), weight."""

    def __init__(self, wq, wk, wv, num_heads: int, num_kv_heads: int, group):
        raise NotImplementedError

    def __call__(self, x: torch.Tensor):
        """(q, k, v) of this rank's heads: [T, local heads * head_dim] each."""
        raise NotImplementedError


class TPAttention:
    """Causal GQA self-attention over one sequence x [T, hidden], heads split across ranks."""

    def __init__(self, wq, wk, wv, wo, num_heads: int, num_kv_heads: int, group):
        raise NotImplementedError

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError
