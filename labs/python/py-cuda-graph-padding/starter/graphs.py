"""CUDA graph capture sizes, padding and dispatch, as vLLM 0.33.0 chooses them.

Implement the parts marked TODO. README.md explains each one.
"""
from __future__ import annotations

import torch

MODES = ("NONE", "PIECEWISE", "FULL", "FULL_DECODE_ONLY", "FULL_AND_PIECEWISE")


def default_capture_sizes(max_num_seqs: int, max_num_batched_tokens: int, platform_max: int = 512) -> list[int]:
    """The default capture list for one token per decoding request (no speculative decoding)."""
    # TODO
    raise NotImplementedError("default_capture_sizes")


def padded_size_table(capture_sizes: list[int]) -> list[int]:
    """table[n] = the smallest captured size >= n, for n = 0 .. max(capture_sizes)."""
    # TODO
    raise NotImplementedError("padded_size_table")


def dispatch(num_tokens: int, uniform_decode: bool, mode: str, table: list[int]) -> tuple[str, int]:
    """(runtime mode, tokens the step runs with). A batch larger than every captured size, or a mode
    with no graph for this kind of batch, runs eagerly at its own size."""
    # TODO
    raise NotImplementedError("dispatch")


def padding_waste(batch_sizes: list[int], table: list[int]) -> float:
    """Share of the tokens run that are padding, over batches that use a graph."""
    # TODO
    raise NotImplementedError("padding_waste")


class GraphRunner:
    """Runs `model` on [n, hidden] inputs through one captured CUDA graph per capture size.

    Capture writes into static input/output buffers; a call copies its rows into the
    captured input, replays the graph and returns the first n rows. The padding rows hold
    whatever the last call left there: harmless for row-wise layers, whose padded rows are
    computed and dropped (vLLM also keeps them out of the KV cache with slot -1)."""

    def __init__(self, model: torch.nn.Module, hidden: int, capture_sizes: list[int], device="cuda"):
        # TODO
        raise NotImplementedError("GraphRunner.__init__")

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        # TODO
        raise NotImplementedError("GraphRunner.__call__")
