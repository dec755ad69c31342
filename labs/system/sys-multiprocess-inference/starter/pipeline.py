"""Pipeline-parallel greedy generation over real processes.

Implement the parts marked TODO. README.md explains each one. Rank 0 is the
front end; pipeline stage s runs as rank s + 1. The model (model.py) and the
messages (wire.py) are given.
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
    # TODO
    raise NotImplementedError("split_layers")


def split_microbatches(batch_size: int, num_microbatches: int) -> list[tuple[int, int]]:
    """[start, end) rows of each micro-batch: sizes differ by at most one, the larger ones
    first (as torch.tensor_split); never an empty micro-batch."""
    # TODO
    raise NotImplementedError("split_microbatches")


# ------------------------------------------------------------------ backend and device


def choose_backend(world_size: int) -> str:
    """NCCL when every process can have a GPU of its own, gloo otherwise."""
    # TODO
    raise NotImplementedError("choose_backend")


def device_for(rank: int, backend: str) -> torch.device:
    """Rank r drives GPU r under NCCL; everything stays on the CPU under gloo."""
    # TODO
    raise NotImplementedError("device_for")


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
        # TODO
        raise NotImplementedError("comm_share")


# ------------------------------------------------------------------ the processes


def run_stage(model, stage: int, pp_size: int, device: torch.device) -> StageStats:
    """One pipeline stage: receive from the previous rank, run this stage's layers, send on,
    until a stop arrives (which is passed on down the pipeline)."""
    # TODO
    raise NotImplementedError("run_stage")


def run_front_end(model, prompts: list[str], steps: int, num_microbatches: int, pp_size: int,
                  device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Tokenize, cut the batch into micro-batches and put every one of them into the pipeline.
    Each micro-batch then cycles on its own: when its logits come back, pick its next tokens and
    send it in again, while the others are still travelling through the stages. Returns
    (tokens [B, steps], logits [steps, B, V]) like TinyLM.generate."""
    # TODO
    raise NotImplementedError("run_front_end")
