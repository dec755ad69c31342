"""Pipeline-parallel greedy generation over real processes.

Reference solution. See README.md. Rank 0 is the front end; pipeline stage s
runs as rank s + 1. The model (model.py) and the messages (wire.py) are given.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import torch
import wire

FRONT_END = 0


def stage_rank(stage: int) -> int:
    """The process rank of pipeline stage `stage` (rank 0 is the front end)."""
    return stage + 1


# ------------------------------------------------------------------ splitting


def split_layers(num_layers: int, pp_size: int) -> list[tuple[int, int]]:
    """[start, end) of the layers each stage owns, as vLLM's get_pp_indices: an even split,
    and the remainder one layer each to the stages just before the last, walking towards
    the first (the last stage also carries the final norm and the LM head)."""
    if not 1 <= pp_size <= num_layers:
        raise ValueError(f"cannot split {num_layers} layers over {pp_size} stages")
    sizes = [num_layers // pp_size] * pp_size
    for i in range(2, num_layers % pp_size + 2):
        sizes[-i] += 1
    bounds, start = [], 0
    for size in sizes:
        bounds.append((start, start + size))
        start += size
    return bounds


def split_microbatches(batch_size: int, num_microbatches: int) -> list[tuple[int, int]]:
    """[start, end) rows of each micro-batch: sizes differ by at most one, the larger ones
    first (as torch.tensor_split); never an empty micro-batch."""
    if not 1 <= num_microbatches <= batch_size:
        raise ValueError(f"cannot cut {batch_size} sequences into {num_microbatches} micro-batches")
    base, extra = divmod(batch_size, num_microbatches)
    bounds, start = [], 0
    for i in range(num_microbatches):
        end = start + base + (1 if i < extra else 0)
        bounds.append((start, end))
        start = end
    return bounds


# ------------------------------------------------------------------ backend and device


def choose_backend(world_size: int) -> str:
    """NCCL when every process can have a GPU of its own, gloo otherwise."""
    if torch.cuda.is_available() and torch.cuda.device_count() >= world_size:
        return "nccl"
    return "gloo"


def device_for(rank: int, backend: str) -> torch.device:
    """Rank r drives GPU r under NCCL; everything stays on the CPU under gloo."""
    return torch.device("cuda", rank) if backend == "nccl" else torch.device("cpu")


# ------------------------------------------------------------------ accounting


@dataclass
class StageStats:
    stage: int
    layers: tuple[int, int]
    microbatches: int = 0  # micro-batches this stage processed (all steps together)
    recv_s: float = 0.0  # time blocked receiving (includes waiting for the upstream stage)
    send_s: float = 0.0  # time starting sends and waiting for them to complete
    compute_s: float = 0.0  # time in the model's embed / layer / logits calls

    def comm_share(self) -> float:
        """Share of this stage's accounted time spent communicating, in [0, 1]."""
        comm = self.recv_s + self.send_s
        total = comm + self.compute_s
        return comm / total if total > 0 else 0.0


# ------------------------------------------------------------------ the processes


def run_stage(model, stage: int, pp_size: int, device: torch.device) -> StageStats:
    """One pipeline stage: receive from the previous rank, run this stage's layers, send on,
    until a stop arrives (which is passed on down the pipeline)."""
    start, end = split_layers(model.num_layers, pp_size)[stage]
    first, last = stage == 0, stage == pp_size - 1
    prev = FRONT_END if first else stage_rank(stage - 1)
    nxt = FRONT_END if last else stage_rank(stage + 1)
    stats = StageStats(stage, (start, end))
    in_flight = None
    while True:
        t0 = time.perf_counter()
        x = wire.recv(prev, device)
        t1 = time.perf_counter()
        stats.recv_s += t1 - t0
        if x is None:
            break
        if first:
            x = model.embed(x)
        for i in range(start, end):
            x = model.layer(i, x)
        if last:
            x = model.logits(x)
        t2 = time.perf_counter()
        stats.compute_s += t2 - t1
        if in_flight is not None:
            in_flight.wait()  # the previous send must finish before we start the next one
        in_flight = wire.send(x, nxt)
        stats.send_s += time.perf_counter() - t2
        stats.microbatches += 1
    t = time.perf_counter()
    if in_flight is not None:
        in_flight.wait()
    if not last:
        wire.send_stop(nxt, device)
    stats.send_s += time.perf_counter() - t
    return stats


def run_front_end(model, prompts: list[str], steps: int, num_microbatches: int, pp_size: int,
                  device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Tokenize, cut the batch into micro-batches and put every one of them into the pipeline.
    Each micro-batch then cycles on its own: when its logits come back, pick its next tokens and
    send it in again, while the others are still travelling through the stages. Returns
    (tokens [B, steps], logits [steps, B, V]) like TinyLM.generate."""
    ids = torch.tensor([model.tokenize(p) for p in prompts], dtype=torch.int64, device=device)
    chunks = [ids[a:b] for a, b in split_microbatches(ids.shape[0], num_microbatches)]
    first, last = stage_rank(0), stage_rank(pp_size - 1)
    sends = [wire.send(chunk, first) for chunk in chunks]  # every micro-batch in flight
    logits = [[] for _ in chunks]
    for step in range(steps):
        for k in range(len(chunks)):  # results come back in the order the micro-batches went in
            part = wire.recv(last, device)
            logits[k].append(part)
            chunks[k] = torch.cat([chunks[k], part.argmax(-1).unsqueeze(1)], dim=1)
            if step + 1 < steps:
                sends.append(wire.send(chunks[k], first))
    wire.wait(sends)
    wire.send_stop(first, device)
    tokens = torch.cat([chunk[:, -steps:] for chunk in chunks])
    return tokens, torch.stack([torch.cat([logits[k][s] for k in range(len(chunks))]) for s in range(steps)])
