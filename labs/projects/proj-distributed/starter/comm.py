"""Given (do not edit): process-group plumbing, the shape of vLLM's GroupCoordinator.

`Group` is one parallel group of ranks (here: the default world). Its
collectives are out of place, like `vllm/distributed/parallel_state.py::GroupCoordinator.all_reduce`:
they return a new tensor and never touch their input. A world of 1 returns the
input unchanged, as vLLM's bypass does.

Layer constructors only read `group.rank` and `group.world_size`, so you can
build a layer for any rank in a plain Python process: `Group(rank=1, world_size=4)`.
The collectives need a real process group (`init`).
"""
from __future__ import annotations

import datetime
import os

import torch
import torch.distributed as dist


def pick_backend(world_size: int) -> str:
    """NCCL when every rank can have a GPU of its own, gloo (CPU) otherwise."""
    return "nccl" if torch.cuda.is_available() and torch.cuda.device_count() >= world_size else "gloo"


def device_for(rank: int, backend: str) -> torch.device:
    return torch.device("cuda", rank) if backend == "nccl" else torch.device("cpu")


class Group:
    def __init__(self, rank: int, world_size: int, device: torch.device | str = "cpu"):
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is outside a world of {world_size}")
        self.rank, self.world_size, self.device = rank, world_size, torch.device(device)

    def all_reduce(self, x: torch.Tensor) -> torch.Tensor:
        """Sum of x over the ranks, on every rank."""
        if self.world_size == 1:
            return x
        out = x.clone()
        dist.all_reduce(out)
        return out

    def all_gather(self, x: torch.Tensor, dim: int = -1) -> torch.Tensor:
        """Every rank's x concatenated along dim, in rank order, on every rank."""
        if self.world_size == 1:
            return x
        parts = [torch.empty_like(x) for _ in range(self.world_size)]
        dist.all_gather(parts, x.contiguous())
        return torch.cat(parts, dim=dim)

    def send(self, x: torch.Tensor, dst: int) -> None:
        """Blocking point-to-point send (over gloo it returns once dst has posted the receive)."""
        dist.send(x.contiguous(), dst)

    def recv(self, shape, dtype: torch.dtype, src: int) -> torch.Tensor:
        """Blocking receive of a tensor whose shape and dtype the receiver already knows."""
        out = torch.empty(tuple(shape), dtype=dtype, device=self.device)
        dist.recv(out, src)
        return out

    def barrier(self) -> None:
        if self.world_size > 1:
            dist.barrier()


def init(rank: int, world_size: int, port: int | str, timeout_s: float = 20.0) -> Group:
    """Join a process group of world_size processes on this machine; returns the Group."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    backend = pick_backend(world_size)
    dist.init_process_group(backend, rank=rank, world_size=world_size,
                            timeout=datetime.timedelta(seconds=timeout_s))
    device = device_for(rank, backend)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    return Group(rank, world_size, device)
