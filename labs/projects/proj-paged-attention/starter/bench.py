"""Stage 4: measure the CUDA kernel against the two PyTorch ways to do the same step.

    kv_bytes          the bytes one decode step must move at least
    gather_then_sdpa  the naive paged path: copy the blocks into a dense tensor, then SDPA
    time_ms           median of CUDA-event timings
    copy_gbps         measured device-to-device copy bandwidth (bytes read + written)
    make_report       ms per variant -> GB/s and % of copy bandwidth
    benchmark         time every variant, measure the copy, return the report
"""
import statistics  # noqa: F401

import torch  # noqa: F401
import torch.nn.functional as F  # noqa: F401


def kv_bytes(seq_lens, num_heads, num_kv_heads, head_size, itemsize) -> int:
    """TODO(you): the minimum bytes of one decode step (see the README, stage 4)."""
    raise NotImplementedError("stage 4: kv_bytes")


def gather_then_sdpa(q, k_cache, v_cache, block_tables, seq_lens, scale):
    """TODO(you): gather the blocks into [S, T, Hkv, D], mask t >= seq_len, then SDPA."""
    raise NotImplementedError("stage 4: gather_then_sdpa")


def time_ms(fn, reps=20, warmup=3) -> float:
    """TODO(you): warm up, then the median of `reps` CUDA-event timings of fn()."""
    raise NotImplementedError("stage 4: time_ms")


def copy_gbps(nbytes=1 << 30, reps=20) -> float:
    """TODO(you): time dst.copy_(src) and count bytes read plus bytes written."""
    raise NotImplementedError("stage 4: copy_gbps")


def make_report(ms: dict, nbytes: int, copy: float) -> dict:
    """TODO(you): {"bytes", "copy_gbps", "rows": {name: {"ms", "gbps", "pct_of_copy"}}}."""
    raise NotImplementedError("stage 4: make_report")


def benchmark(fns: dict, nbytes: int, reps=20) -> dict:
    """TODO(you): time_ms of every fn, copy_gbps(), make_report, plus "reps"."""
    raise NotImplementedError("stage 4: benchmark")
