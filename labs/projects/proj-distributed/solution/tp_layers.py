"""Tensor-parallel layers (stages 1 and 2).

Every constructor takes the FULL weight ([out_features, in_features], as
nn.Linear) and keeps only this rank's shard; `group` (comm.Group) says which
rank this is and carries the collectives.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


# ------------------------------------------------------------------ stage 1


def divide(numerator: int, denominator: int) -> int:
    """numerator // denominator; ValueError naming both when it does not divide evenly."""
    if denominator <= 0 or numerator % denominator:
        raise ValueError(f"{numerator} is not divisible by {denominator}: "
                         "tensor parallelism needs equal shards")
    return numerator // denominator


def shard(t: torch.Tensor, dim: int, rank: int, world: int) -> torch.Tensor:
    """Rank's contiguous 1/world slice of t along dim (a copy, not a view of the full tensor)."""
    n = divide(t.shape[dim], world)
    return t.narrow(dim, rank * n, n).clone()


class ColumnParallelLinear:
    """Y = X W^T + b with W split by output features (rows of W)."""

    def __init__(self, weight, bias, group, gather_output: bool = False):
        self.group, self.gather_output = group, gather_output
        self.output_size_per_partition = divide(weight.shape[0], group.world_size)
        self.weight = shard(weight, 0, group.rank, group.world_size)
        self.bias = None if bias is None else shard(bias, 0, group.rank, group.world_size)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        y = F.linear(x, self.weight, self.bias)
        if self.gather_output:
            y = self.group.all_gather(y, dim=-1)
        return y


class MergedColumnParallelLinear(ColumnParallelLinear):
    """Several column-parallel matrices with the same input (gate and up) in one GEMM:
    each is sharded on its own and this rank's shards are stacked."""

    def __init__(self, weights: list, group):
        self.group, self.gather_output, self.bias = group, False, None
        self.output_sizes = [divide(w.shape[0], group.world_size) for w in weights]
        self.output_size_per_partition = sum(self.output_sizes)
        self.weight = torch.cat([shard(w, 0, group.rank, group.world_size) for w in weights])


class RowParallelLinear:
    """Y = X W^T + b with W split by input features (columns of W): each rank's
    product is a partial sum of Y; one all-reduce adds them."""

    def __init__(self, weight, bias, group, input_is_parallel: bool = True, reduce_results: bool = True):
        if bias is not None and not reduce_results:
            raise ValueError("a bias on a row-parallel layer whose partial sums are not reduced "
                             "would be added world_size times by whoever sums them")
        self.group, self.input_is_parallel, self.reduce_results = group, input_is_parallel, reduce_results
        self.input_size_per_partition = divide(weight.shape[1], group.world_size)
        self.weight = shard(weight, 1, group.rank, group.world_size)
        self.bias = None if bias is None else bias.clone()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if not self.input_is_parallel:
            x = shard(x, -1, self.group.rank, self.group.world_size)
        bias = self.bias if self.group.rank == 0 else None  # added once, before the sum
        y = F.linear(x, self.weight, bias)
        if self.reduce_results:
            y = self.group.all_reduce(y)
        return y


class TPMLP:
    """down(silu(gate(x)) * up(x)) with gate/up merged column-parallel and down
    row-parallel: no communication until the single all-reduce at the end."""

    def __init__(self, gate, up, down, group):
        self.gate_up = MergedColumnParallelLinear([gate, up], group)
        self.down = RowParallelLinear(down, None, group)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        gate, up = self.gate_up(x).split(self.gate_up.output_sizes, dim=-1)
        return self.down(F.silu(gate) * up)


# ------------------------------------------------------------------ stage 2


class QKVParallelLinear:
    """Q, K and V projections in one column-parallel GEMM, split by heads. Query heads
    are divided among the ranks; when world_size >= num_kv_heads every rank holds one
    KV head and each KV head is replicated on world_size // num_kv_heads ranks."""

    def __init__(self, wq, wk, wv, num_heads: int, num_kv_heads: int, group):
        rank, world = group.rank, group.world_size
        self.head_dim = divide(wq.shape[0], num_heads)
        self.num_heads = divide(num_heads, world)
        if world >= num_kv_heads:
            self.num_kv_heads = 1
            self.num_kv_head_replicas = divide(world, num_kv_heads)
        else:
            self.num_kv_heads = divide(num_kv_heads, world)
            self.num_kv_head_replicas = 1
        kv_rank = rank // self.num_kv_head_replicas
        first = kv_rank * self.num_kv_heads
        self.kv_head_ids = list(range(first, first + self.num_kv_heads))
        self.q_head_ids = list(range(rank * self.num_heads, (rank + 1) * self.num_heads))
        q_rows, kv_rows = self.num_heads * self.head_dim, self.num_kv_heads * self.head_dim
        self.output_sizes = [q_rows, kv_rows, kv_rows]
        self.weight = torch.cat([
            wq[rank * q_rows:(rank + 1) * q_rows],
            wk[kv_rank * kv_rows:(kv_rank + 1) * kv_rows],
            wv[kv_rank * kv_rows:(kv_rank + 1) * kv_rows],
        ]).clone()

    def __call__(self, x: torch.Tensor):
        """(q, k, v) of this rank's heads: [T, local heads * head_dim] each."""
        return F.linear(x, self.weight).split(self.output_sizes, dim=-1)


class TPAttention:
    """Causal GQA self-attention over one sequence x [T, hidden], heads split across
    ranks: QKV column-parallel, attention on local heads, o_proj row-parallel."""

    def __init__(self, wq, wk, wv, wo, num_heads: int, num_kv_heads: int, group):
        self.qkv = QKVParallelLinear(wq, wk, wv, num_heads, num_kv_heads, group)
        self.o_proj = RowParallelLinear(wo, None, group)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        t, qkv = x.shape[0], self.qkv
        q, k, v = qkv(x)
        q = q.view(t, qkv.num_heads, qkv.head_dim).transpose(0, 1)
        k = k.view(t, qkv.num_kv_heads, qkv.head_dim).transpose(0, 1)
        v = v.view(t, qkv.num_kv_heads, qkv.head_dim).transpose(0, 1)
        per_kv = qkv.num_heads // qkv.num_kv_heads  # local query heads per local KV head
        k, v = k.repeat_interleave(per_kv, dim=0), v.repeat_interleave(per_kv, dim=0)
        o = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.o_proj(o.transpose(0, 1).reshape(t, qkv.num_heads * qkv.head_dim))
