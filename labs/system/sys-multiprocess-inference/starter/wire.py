"""Point-to-point messages between pipeline processes. Given: do not edit.

A message is a small int64 header (kind, dtype, shape) followed by the payload,
the way vLLM's `GroupCoordinator.send_tensor_dict` sends metadata before the
tensors so the receiver can allocate buffers of the right shape. A header of
kind 0 is "stop": no payload follows.

`send` is non-blocking (two `dist.isend`s): it returns a `Pending` that keeps
the tensors alive until you `wait` on it. Over gloo a send does not complete
until the receiver has posted the matching receive, so a process that sends
with blocking calls while its peer is itself blocked sending can deadlock.
"""
from __future__ import annotations

import torch
import torch.distributed as dist

_DTYPES = [torch.int64, torch.float64, torch.float32, torch.bfloat16, torch.float16]
_HEADER = 6  # kind, dtype index, ndim, up to three dims
_WORK, _STOP = 1, 0


class Pending:
    """Sends in flight. Hold it (it keeps the buffers alive) and wait() before you reuse the data."""

    def __init__(self, works, tensors):
        self.works, self.tensors = works, tensors

    def wait(self) -> None:
        for work in self.works:
            work.wait()
        self.works, self.tensors = [], []


def send(tensor: torch.Tensor, dst: int) -> Pending:
    """Start sending `tensor` (at most 3-D) to rank `dst`; returns at once."""
    if tensor.dim() > 3:
        raise ValueError("wire.send carries tensors of at most 3 dimensions")
    shape = list(tensor.shape) + [0] * (3 - tensor.dim())
    header = torch.tensor([_WORK, _DTYPES.index(tensor.dtype), tensor.dim(), *shape], dtype=torch.int64,
                          device=tensor.device)
    payload = tensor.contiguous()
    return Pending([dist.isend(header, dst), dist.isend(payload, dst)], [header, payload])


def send_stop(dst: int, device: torch.device | str = "cpu") -> None:
    """Tell rank `dst` there is no more work (blocks until it has received the header)."""
    dist.send(torch.tensor([_STOP] + [0] * (_HEADER - 1), dtype=torch.int64, device=device), dst)


def recv(src: int, device: torch.device | str = "cpu") -> torch.Tensor | None:
    """Receive the next message from rank `src`: its tensor, or None for stop. Blocks."""
    header = torch.empty(_HEADER, dtype=torch.int64, device=device)
    dist.recv(header, src)
    kind, dtype, ndim, *dims = header.tolist()
    if kind == _STOP:
        return None
    payload = torch.empty(dims[:ndim], dtype=_DTYPES[dtype], device=device)
    dist.recv(payload, src)
    return payload


def wait(pending) -> None:
    """Wait for one Pending or a list of them."""
    for p in pending if isinstance(pending, (list, tuple)) else [pending]:
        p.wait()
