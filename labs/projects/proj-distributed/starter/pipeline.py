"""Pipeline parallelism (stage 3): layers split across ranks, micro-batches passed
from stage to stage with point-to-point send/recv (GPipe-style forward)."""
from __future__ import annotations

import time

import torch


def split_layers(num_layers: int, pp_size: int) -> list[tuple[int, int]]:
    """[start, end) layer range of every stage, by vLLM's get_pp_indices rule."""
    raise NotImplementedError


def split_microbatches(batch: int, m: int) -> list[tuple[int, int]]:
    """[start, end) rows of m micro-batches, in order; the first batch % m get one extra row."""
    raise NotImplementedError


def bubble_fraction(p: int, m: int) -> float:
    """Idle share of a GPipe forward with p equal stages and m equal micro-batches."""
    raise NotImplementedError


def gpipe_schedule(p: int, m: int) -> list[list[int | None]]:
    """schedule[t][s]: the micro-batch stage s computes in time slot t (None: idle)."""
    raise NotImplementedError


def run_pipeline(model, x: torch.Tensor, m: int, group):
    """Run model.forward(x) with this rank as pipeline stage group.rank of group.world_size.
    Every rank is given the same x (only stage 0 reads its values; the others use its shape).
    Returns (output, events): output is the full [batch, hidden] result on the last stage and
    None elsewhere; events is [(micro-batch, t_start, t_end)] of this stage's compute, in order,
    from time.perf_counter()."""
    raise NotImplementedError


def measured_bubble(events_per_stage: list[list[tuple[int, float, float]]]) -> float:
    """1 - busy / (stages * span) over the span from the first compute start to the last end."""
    raise NotImplementedError
