"""Tensor-parallel building blocks over torch.distributed (Megatron-style, as vLLM shards them).

Implement the parts marked TODO. README.md explains each one.
"""
import torch
import torch.distributed as dist


def divide(size: int, world: int) -> int:
    """size / world, refusing sizes that do not split evenly (vLLM's `divide` asserts the same)."""
    # TODO
    raise NotImplementedError("divide")


def shard_rows(weight: torch.Tensor, rank: int, world: int) -> torch.Tensor:
    """This rank's slice of dim 0 (output features of a [out, in] weight, or vocabulary rows)."""
    # TODO
    raise NotImplementedError("shard_rows")


def shard_cols(weight: torch.Tensor, rank: int, world: int) -> torch.Tensor:
    """This rank's slice of dim 1 (input features of a [out, in] weight)."""
    # TODO
    raise NotImplementedError("shard_cols")


def shard_merged(weight: torch.Tensor, output_sizes: list[int], rank: int, world: int) -> torch.Tensor:
    """Several matrices stacked on dim 0 (gate and up of an MLP): shard each one, then stack the
    shards, so every rank holds matching slices of all of them."""
    # TODO
    raise NotImplementedError("shard_merged")


class ColumnParallelLinear(torch.nn.Module):
    """y = x W^T + b with W split by output features. Output stays sharded unless gather_output."""

    def __init__(self, weight, bias, rank: int, world: int, gather_output: bool = False):
        super().__init__()
        # TODO
        raise NotImplementedError("ColumnParallelLinear.__init__")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # TODO
        raise NotImplementedError("ColumnParallelLinear.forward")


class RowParallelLinear(torch.nn.Module):
    """y = x W^T + b with W split by input features; x arrives already split the same way.
    One all-reduce sums the partial products; the bias is added once, not once per rank."""

    def __init__(self, weight, bias, rank: int, world: int):
        super().__init__()
        # TODO
        raise NotImplementedError("RowParallelLinear.__init__")

    def forward(self, x_local: torch.Tensor) -> torch.Tensor:
        # TODO
        raise NotImplementedError("RowParallelLinear.forward")


class VocabParallelEmbedding(torch.nn.Module):
    """Embedding rows split by vocabulary range; each rank looks up the ids it owns, zeroes the
    rest, and an all-reduce assembles the full rows."""

    def __init__(self, weight, rank: int, world: int):
        super().__init__()
        # TODO
        raise NotImplementedError("VocabParallelEmbedding.__init__")

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        # TODO
        raise NotImplementedError("VocabParallelEmbedding.forward")


class ParallelMLP(torch.nn.Module):
    """SwiGLU MLP: gate_up is column-parallel (no gather), down is row-parallel: one all-reduce."""

    def __init__(self, gate_up, down, intermediate: int, rank: int, world: int):
        super().__init__()
        # TODO
        raise NotImplementedError("ParallelMLP.__init__")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # TODO
        raise NotImplementedError("ParallelMLP.forward")

