"""Tensor-parallel building blocks over torch.distributed (Megatron-style, as vLLM shards them).

Reference solution. See README.md.
"""
import torch
import torch.distributed as dist


def divide(size: int, world: int) -> int:
    """size / world, refusing sizes that do not split evenly (vLLM's `divide` asserts the same)."""
    if size % world:
        raise ValueError(f"{size} does not divide evenly across {world} ranks")
    return size // world


def shard_rows(weight: torch.Tensor, rank: int, world: int) -> torch.Tensor:
    """This rank's slice of dim 0 (output features of a [out, in] weight, or vocabulary rows)."""
    n = divide(weight.shape[0], world)
    return weight[rank * n:(rank + 1) * n].clone()


def shard_cols(weight: torch.Tensor, rank: int, world: int) -> torch.Tensor:
    """This rank's slice of dim 1 (input features of a [out, in] weight)."""
    n = divide(weight.shape[1], world)
    return weight[:, rank * n:(rank + 1) * n].clone()


def shard_merged(weight: torch.Tensor, output_sizes: list[int], rank: int, world: int) -> torch.Tensor:
    """Several matrices stacked on dim 0 (gate and up of an MLP): shard each one, then stack the
    shards, so every rank holds matching slices of all of them."""
    parts = torch.split(weight, output_sizes, dim=0)
    return torch.cat([shard_rows(p, rank, world) for p in parts], dim=0)


class ColumnParallelLinear(torch.nn.Module):
    """y = x W^T + b with W split by output features. Output stays sharded unless gather_output."""

    def __init__(self, weight, bias, rank: int, world: int, gather_output: bool = False):
        super().__init__()
        self.rank, self.world, self.gather_output = rank, world, gather_output
        self.weight = shard_rows(weight, rank, world)
        self.bias = None if bias is None else shard_rows(bias, rank, world)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.nn.functional.linear(x, self.weight, self.bias)
        if not self.gather_output:
            return y
        parts = [torch.empty_like(y) for _ in range(self.world)]
        dist.all_gather(parts, y.contiguous())
        return torch.cat(parts, dim=-1)


class RowParallelLinear(torch.nn.Module):
    """y = x W^T + b with W split by input features; x arrives already split the same way.
    One all-reduce sums the partial products; the bias is added once, not once per rank."""

    def __init__(self, weight, bias, rank: int, world: int):
        super().__init__()
        self.rank, self.world = rank, world
        self.weight = shard_cols(weight, rank, world)
        self.bias = bias

    def forward(self, x_local: torch.Tensor) -> torch.Tensor:
        bias = self.bias if self.rank == 0 else None
        y = torch.nn.functional.linear(x_local, self.weight, bias)
        dist.all_reduce(y)
        return y


class VocabParallelEmbedding(torch.nn.Module):
    """Embedding rows split by vocabulary range; each rank looks up the ids it owns, zeroes the
    rest, and an all-reduce assembles the full rows."""

    def __init__(self, weight, rank: int, world: int):
        super().__init__()
        self.rows = divide(weight.shape[0], world)
        self.start, self.end = rank * self.rows, (rank + 1) * self.rows
        self.weight = shard_rows(weight, rank, world)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        outside = (ids < self.start) | (ids >= self.end)
        local = torch.where(outside, torch.zeros_like(ids), ids - self.start)
        out = torch.nn.functional.embedding(local, self.weight)
        out = out.masked_fill(outside.unsqueeze(-1), 0)
        dist.all_reduce(out)
        return out


class ParallelMLP(torch.nn.Module):
    """SwiGLU MLP: gate_up is column-parallel (no gather), down is row-parallel: one all-reduce."""

    def __init__(self, gate_up, down, intermediate: int, rank: int, world: int):
        super().__init__()
        self.local = divide(intermediate, world)
        self.gate_up = shard_merged(gate_up, [intermediate, intermediate], rank, world)
        self.down = RowParallelLinear(down, None, rank, world)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, up = torch.nn.functional.linear(x, self.gate_up).split(self.local, dim=-1)
        return self.down(torch.nn.functional.silu(gate) * up)
