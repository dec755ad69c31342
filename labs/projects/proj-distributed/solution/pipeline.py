"""Pipeline parallelism (stage 3): layers split across ranks, micro-batches passed
from stage to stage with point-to-point send/recv (GPipe-style forward)."""
from __future__ import annotations

import time

import torch


def split_layers(num_layers: int, pp_size: int) -> list[tuple[int, int]]:
    """[start, end) layer range of every stage, vLLM's get_pp_indices rule: num_layers // pp_size
    each, the remainder one layer each to the stages before the last, from the second-to-last back."""
    if not 1 <= pp_size <= num_layers:
        raise ValueError(f"cannot split {num_layers} layers over {pp_size} stages")
    sizes = [num_layers // pp_size] * pp_size
    for i in range(2, num_layers % pp_size + 2):
        sizes[-i] += 1
    bounds, start = [], 0
    for n in sizes:
        bounds.append((start, start + n))
        start += n
    return bounds


def split_microbatches(batch: int, m: int) -> list[tuple[int, int]]:
    """[start, end) rows of m micro-batches, in order; the first batch % m get one extra row."""
    if not 1 <= m <= batch:
        raise ValueError(f"cannot cut {batch} rows into {m} non-empty micro-batches")
    size, extra = divmod(batch, m)
    bounds, start = [], 0
    for k in range(m):
        n = size + (k < extra)
        bounds.append((start, start + n))
        start += n
    return bounds


def bubble_fraction(p: int, m: int) -> float:
    """Idle share of a GPipe forward with p equal stages and m equal micro-batches:
    each stage works m slots out of m + p - 1."""
    return (p - 1) / (m + p - 1)


def gpipe_schedule(p: int, m: int) -> list[list[int | None]]:
    """schedule[t][s]: the micro-batch stage s computes in time slot t (None: idle)."""
    return [[t - s if 0 <= t - s < m else None for s in range(p)] for t in range(m + p - 1)]


def run_pipeline(model, x: torch.Tensor, m: int, group):
    """Run model.forward(x) with this rank as pipeline stage group.rank of group.world_size.
    Every rank is given the same x (only stage 0 reads its values; the others use its shape).
    Returns (output, events): output is the full [batch, hidden] result on the last stage and
    None elsewhere; events is [(micro-batch, t_start, t_end)] of this stage's compute, in order,
    from time.perf_counter()."""
    stage, p = group.rank, group.world_size
    start, end = split_layers(model.num_layers, p)[stage]
    outputs, events = [], []
    for k, (r0, r1) in enumerate(split_microbatches(x.shape[0], m)):
        if stage == 0:
            h = x[r0:r1]
        else:
            h = group.recv((r1 - r0, x.shape[1]), x.dtype, src=stage - 1)
        t0 = time.perf_counter()
        for i in range(start, end):
            h = model.layer(i, h)
        events.append((k, t0, time.perf_counter()))
        if stage < p - 1:
            group.send(h, dst=stage + 1)
        else:
            outputs.append(h)
    return (torch.cat(outputs) if stage == p - 1 else None), events


def measured_bubble(events_per_stage: list[list[tuple[int, float, float]]]) -> float:
    """1 - busy / (stages * span): the idle share of the wall-clock span from the first
    compute start to the last compute end, over all stages."""
    starts = [e[1] for evs in events_per_stage for e in evs]
    ends = [e[2] for evs in events_per_stage for e in evs]
    span = max(ends) - min(starts)
    busy = sum(e[2] - e[1] for evs in events_per_stage for e in evs)
    return 1.0 - busy / (len(events_per_stage) * span) if span > 0 else 0.0
