"""CUDA graph capture sizes, padding and dispatch, as vLLM 0.33.0 chooses them.

Reference solution. See README.md.
"""
from __future__ import annotations

import torch

MODES = ("NONE", "PIECEWISE", "FULL", "FULL_DECODE_ONLY", "FULL_AND_PIECEWISE")


def default_capture_sizes(max_num_seqs: int, max_num_batched_tokens: int, platform_max: int = 512) -> list[int]:
    """The default capture list for one token per decoding request (no speculative decoding)."""
    max_size = min(max_num_seqs * 2, platform_max, max_num_batched_tokens)
    if max_size < 1:
        raise ValueError("max_num_seqs and max_num_batched_tokens must be positive")
    sizes = [n for n in (1, 2, 4) if n <= max_size]
    if max_size >= 8:
        sizes += range(8, min(max_size + 1, 256), 8)
    if max_size >= 256:
        sizes += range(256, max_size + 1, 16)
    if max_num_batched_tokens <= max_size:
        sizes.append(max_num_batched_tokens)  # the largest batch is captured even off the stride
    if max_num_seqs <= max_size:
        sizes.append(max_num_seqs)  # a full decode batch of max_num_seqs requests
    return sorted(set(sizes))


def padded_size_table(capture_sizes: list[int]) -> list[int]:
    """table[n] = the smallest captured size >= n, for n = 0 .. max(capture_sizes)."""
    sizes = sorted(set(capture_sizes))
    table = [0] * (sizes[-1] + 1)
    lower = 0
    for size in sizes:
        for n in range(lower + 1, size + 1):
            table[n] = size
        lower = size
    return table


def dispatch(num_tokens: int, uniform_decode: bool, mode: str, table: list[int]) -> tuple[str, int]:
    """(runtime mode, tokens the step runs with). A batch larger than every captured size, or a mode
    with no graph for this kind of batch, runs eagerly at its own size."""
    if mode not in MODES:
        raise ValueError(f"unknown CUDA graph mode {mode!r}")
    if mode == "NONE" or num_tokens > len(table) - 1:
        return "NONE", num_tokens
    padded = table[num_tokens]
    if mode == "FULL" or (uniform_decode and mode in ("FULL_DECODE_ONLY", "FULL_AND_PIECEWISE")):
        return "FULL", padded
    if mode in ("PIECEWISE", "FULL_AND_PIECEWISE"):
        return "PIECEWISE", padded
    return "NONE", num_tokens  # FULL_DECODE_ONLY and a mixed batch


def padding_waste(batch_sizes: list[int], table: list[int]) -> float:
    """Share of the tokens run that are padding, over batches that use a graph."""
    run = pad = 0
    for n in batch_sizes:
        if 0 < n < len(table):
            run += table[n]
            pad += table[n] - n
    return pad / run if run else 0.0


class GraphRunner:
    """Runs `model` on [n, hidden] inputs through one captured CUDA graph per capture size.

    Capture writes into static input/output buffers; a call copies its rows into the
    captured input, replays the graph and returns the first n rows. The padding rows hold
    whatever the last call left there: harmless for row-wise layers, whose padded rows are
    computed and dropped (vLLM also keeps them out of the KV cache with slot -1)."""

    def __init__(self, model: torch.nn.Module, hidden: int, capture_sizes: list[int], device="cuda"):
        self.model, self.table = model, padded_size_table(capture_sizes)
        self.inputs, self.outputs, self.graphs = {}, {}, {}
        pool = None
        for size in sorted(capture_sizes, reverse=True):  # largest first, so smaller graphs reuse its pool
            x = torch.zeros(size, hidden, device=device)
            stream = torch.cuda.Stream()
            stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(stream):
                model(x)  # warm-up outside the capture (lazy init, autotuning)
            torch.cuda.current_stream().wait_stream(stream)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph, pool=pool):
                y = model(x)
            pool = graph.pool()
            self.inputs[size], self.outputs[size], self.graphs[size] = x, y, graph

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        if n >= len(self.table):
            return self.model(x)  # larger than every graph: eager
        size = self.table[n]
        static = self.inputs[size]
        static[:n].copy_(x)
        self.graphs[size].replay()
        return self.outputs[size][:n]
