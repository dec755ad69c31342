"""Stage 4: measure the CUDA kernel against the two PyTorch ways to do the same step.

    kv_bytes          the bytes one decode step must move at least
    gather_then_sdpa  the naive paged path: copy the blocks into a dense tensor, then SDPA
    time_ms           median of CUDA-event timings
    copy_gbps         measured device-to-device copy bandwidth (bytes read + written)
    make_report       ms per variant -> GB/s and % of copy bandwidth
    benchmark         time every variant, measure the copy, return the report
"""
import statistics

import torch
import torch.nn.functional as F


def kv_bytes(seq_lens, num_heads, num_kv_heads, head_size, itemsize) -> int:
    """Minimum traffic of one decode step: every real token's K and V row once per KV head
    (not per query head, not whole blocks), plus q read and the output written."""
    tokens = sum(int(n) for n in seq_lens)
    kv = 2 * tokens * num_kv_heads * head_size * itemsize
    q_and_out = 2 * len(seq_lens) * num_heads * head_size * itemsize
    return kv + q_and_out


def gather_then_sdpa(q, k_cache, v_cache, block_tables, seq_lens, scale):
    """Same answer as the reference, the way a first PyTorch port does it."""
    num_seqs, num_heads, head_size = q.shape
    block_size = k_cache.shape[1]
    lens = seq_lens.long()
    max_len = int(lens.max())
    tables = block_tables[:, : -(-max_len // block_size)].long()
    k = k_cache[tables].flatten(1, 2)[:, :max_len]  # [S, T, Hkv, D]: a copy of every block
    v = v_cache[tables].flatten(1, 2)[:, :max_len]
    valid = torch.arange(max_len, device=q.device)[None, :] < lens[:, None]
    # A False mask entry adds -inf to the score, but NaN + -inf is NaN: zero the stale rows too.
    k = torch.where(valid[:, :, None, None], k, 0.0)
    v = torch.where(valid[:, :, None, None], v, 0.0)
    out = F.scaled_dot_product_attention(q[:, :, None, :], k.transpose(1, 2), v.transpose(1, 2),
                                         attn_mask=valid[:, None, None, :], scale=scale, enable_gqa=True)
    return out[:, :, 0]


def time_ms(fn, reps=20, warmup=3) -> float:
    """Median of `reps` runs of fn(), each bracketed by its own pair of CUDA events."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    pairs = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(reps)]
    for start, end in pairs:
        start.record()
        fn()
        end.record()
    torch.cuda.synchronize()
    return statistics.median(start.elapsed_time(end) for start, end in pairs)


def copy_gbps(nbytes=1 << 30, reps=20) -> float:
    """Device-to-device copy: bytes read plus bytes written, per second, in GB/s."""
    src = torch.empty(nbytes, dtype=torch.uint8, device="cuda").random_(0, 255)
    dst = torch.empty_like(src)
    ms = time_ms(lambda: dst.copy_(src), reps=reps)
    return 2 * nbytes / (ms * 1e-3) / 1e9


def make_report(ms: dict, nbytes: int, copy: float) -> dict:
    rows = {}
    for name, t in ms.items():
        gbps = nbytes / (t * 1e-3) / 1e9
        rows[name] = {"ms": t, "gbps": gbps, "pct_of_copy": 100.0 * gbps / copy}
    return {"bytes": nbytes, "copy_gbps": copy, "rows": rows}


def benchmark(fns: dict, nbytes: int, reps=20) -> dict:
    ms = {name: time_ms(fn, reps=reps) for name, fn in fns.items()}
    report = make_report(ms, nbytes, copy_gbps())
    report["reps"] = reps
    return report
