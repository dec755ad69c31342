"""Stage 4: the benchmark report. Its arithmetic and the naive gather path are checked
on any machine; on a GPU the report of a real run is checked for its structure and
arithmetic (never against a speed: the figures are yours to read and explain).
Without a GPU the timing test skips and the stage reports "compiled".
"""
import math

import pytest
import torch
import torch.nn.functional as F
from conftest import LAYOUTS, check_output, cuda_module, launch_cuda, make_case

from tui.core.labs.testing import load_lab_module, record_perf

VARIANTS = ("paged_cuda", "gather_sdpa", "contiguous_sdpa")


@pytest.fixture
def bench(lab_dir):
    return load_lab_module(lab_dir, "bench.py")


def test_bytes_are_real_tokens_once_per_kv_head(bench):
    # 1017 tokens, 8 KV heads of 128 fp16 values for K and for V; q and out: 2 seqs x 32 heads x 128.
    assert bench.kv_bytes([1000, 17], 32, 8, 128, 2) == 1017 * 8 * 128 * 2 * 2 + 2 * 2 * 32 * 128 * 2
    # Not whole blocks (17 tokens are 17 rows, not 32), not once per query head, itemsize counts.
    assert bench.kv_bytes([17], 4, 1, 64, 4) == 17 * 1 * 64 * 4 * 2 + 2 * 1 * 4 * 64 * 4


def test_report_arithmetic(bench):
    ms = {"paged_cuda": 0.5, "gather_sdpa": 2.0, "contiguous_sdpa": 0.4}
    report = bench.make_report(ms, 10**9, 4000.0)
    assert report["bytes"] == 10**9 and report["copy_gbps"] == 4000.0
    assert set(report["rows"]) == set(ms)
    for name, t in ms.items():
        row = report["rows"][name]
        assert row["ms"] == t
        assert math.isclose(row["gbps"], 1e9 / (t * 1e-3) / 1e9), f"{name}: GB/s is bytes / seconds / 1e9"
        assert math.isclose(row["pct_of_copy"], 100 * row["gbps"] / 4000.0), f"{name}: % of copy"
    assert math.isclose(report["rows"]["paged_cuda"]["pct_of_copy"], 50.0)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_gather_then_sdpa_is_correct(bench, layout):
    case = make_case([1, 15, 16, 17, 45], num_heads=8, num_kv_heads=2, head_size=16, layout=layout, seed=21)
    out = bench.gather_then_sdpa(case.q, case.k_cache, case.v_cache, case.block_tables, case.seq_lens, 0.25)
    check_output(out, case, 0.25, "gather_then_sdpa")


SIZE = dict(seqs=32, heads=32, kv_heads=8, ctx=3999)  # 3999 = 249 full blocks of 16 + 15 tokens


@pytest.mark.gpu
def test_benchmark_report_on_the_gpu(bench, lab_dir):
    from tui.core.labs.gpu import require_gpu

    require_gpu()
    s, h, hkv, n = SIZE["seqs"], SIZE["heads"], SIZE["kv_heads"], SIZE["ctx"]
    case = make_case([n] * s, block_size=16, num_heads=h, num_kv_heads=hkv, head_size=128, dtype=torch.float16,
                     layout="NHD", seed=22, device="cuda")
    scale = 128 ** -0.5
    module = cuda_module(lab_dir)
    out = torch.empty_like(case.q)
    k_dense = torch.stack(case.dense_k).transpose(1, 2).contiguous().cuda()  # [S, Hkv, T, D]: no paging at all
    v_dense = torch.stack(case.dense_v).transpose(1, 2).contiguous().cuda()
    q4 = case.q[:, :, None, :]
    fns = {
        "paged_cuda": lambda: launch_cuda(module, case, scale, out),
        "gather_sdpa": lambda: bench.gather_then_sdpa(case.q, case.k_cache, case.v_cache, case.block_tables,
                                                      case.seq_lens, scale),
        "contiguous_sdpa": lambda: F.scaled_dot_product_attention(q4, k_dense, v_dense, scale=scale,
                                                                  enable_gqa=True),
    }
    fns["paged_cuda"]()
    torch.cuda.synchronize()
    check_output(out, case, scale, "paged_decode at the benchmark size")
    # SDPA may keep P in fp16 before P @ V: a looser bound than the kernel's fp32 accumulation.
    check_output(fns["gather_sdpa"](), case, scale, "gather_then_sdpa at the benchmark size", tol=(5e-3, 1e-2))

    nbytes = 2 * s * n * hkv * 128 * 2 + 2 * s * h * 128 * 2
    report = bench.benchmark(fns, bench.kv_bytes(case.seq_lens.tolist(), h, hkv, 128, 2), reps=20)
    assert report["bytes"] == nbytes, f"bytes {report['bytes']}, expected {nbytes} (K and V of real tokens + q + out)"
    assert report.get("reps") == 20
    copy = report["copy_gbps"]
    assert isinstance(copy, float) and math.isfinite(copy) and copy > 0
    assert set(report["rows"]) == set(VARIANTS)
    for name in VARIANTS:
        row = report["rows"][name]
        assert math.isfinite(row["ms"]) and row["ms"] > 0, f"{name}: ms {row['ms']}"
        assert math.isclose(row["gbps"], nbytes / (row["ms"] * 1e-3) / 1e9, rel_tol=1e-9), name
        assert math.isclose(row["pct_of_copy"], 100 * row["gbps"] / copy, rel_tol=1e-9), name
    rows = report["rows"]
    print(f"\nB{s} H{h}/{hkv} L{n} fp16, {nbytes / 1e6:.1f} MB per step, copy {copy:.0f} GB/s")
    for name in VARIANTS:
        r = rows[name]
        print(f"  {name:<16} {r['ms']:8.4f} ms {r['gbps']:8.0f} GB/s {r['pct_of_copy']:6.1f} % of copy")
    record_perf(size=f"B{s} H{h}/{hkv} L{n} fp16", kernel_ms=rows["paged_cuda"]["ms"],
                gbps=rows["paged_cuda"]["gbps"], pct_of_copy=rows["paged_cuda"]["pct_of_copy"],
                gather_ms=rows["gather_sdpa"]["ms"], contiguous_ms=rows["contiguous_sdpa"]["ms"],
                vs_gather=rows["gather_sdpa"]["ms"] / rows["paged_cuda"]["ms"],
                vs_contiguous=rows["contiguous_sdpa"]["ms"] / rows["paged_cuda"]["ms"])
