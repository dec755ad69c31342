"""Stage 4 (GPU): your Timer on real torch ops, timed with CUDA events.

Without a CUDA device only the first test runs (device='cuda' must fail clearly);
the others skip with a reason. No test compares against a fixed speed: each checks
a bound that any correct timer meets on any NVIDIA GPU and that a broken one misses.
"""
import pytest

from tui.core.labs.testing import load_lab_module, record_perf

torch = pytest.importorskip("torch", reason="torch is not installed")
GPU = torch.cuda.is_available()
needs_gpu = pytest.mark.skipif(not GPU, reason="no CUDA device: the CPU stages above are the check here")


@pytest.fixture
def kb(lab_dir):
    return load_lab_module(lab_dir, "kernel_bench.py")


def test_cuda_without_a_gpu_fails_clearly(kb):
    if GPU:
        pytest.skip("this machine has a CUDA device")
    with pytest.raises(RuntimeError, match="(?i)cuda"):
        kb.Timer(lambda: None, "cuda")


@pytest.mark.gpu
@needs_gpu
def test_cuda_flush_buffer_is_twice_l2(kb):
    l2 = torch.cuda.get_device_properties(torch.cuda.current_device()).L2_cache_size
    f = kb.CacheFlush("cuda")
    assert f.nbytes >= 2 * l2
    f()
    torch.cuda.synchronize()


@pytest.mark.gpu
@needs_gpu
def test_gemm_time_is_the_gpu_time_not_the_launch(kb):
    # A host clock around an asynchronous launch measures ~10 us; 2*4096^3 FLOP at that speed would be
    # over 10 PFLOP/s. No GPU does dense bf16 at 2.5 PFLOP/s, so a real GPU time lands below that.
    a = torch.randn(4096, 4096, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(4096, 4096, device="cuda", dtype=torch.bfloat16)
    s = kb.Timer(lambda: a @ b, "cuda", warmup=5, reps=30, min_reps=5, max_ms=2000).run()
    tflops = kb.gemm_flops(4096, 4096, 4096) / s.median_s / 1e12
    assert s.reps >= 5 and all(x > 0 for x in s.samples_ns)
    assert s.min_ns <= s.median_ns <= s.max_ns
    assert 1 < tflops < 2500, f"{tflops:.0f} TFLOP/s: is the timer measuring the launch only?"
    record_perf(size="4096^3 bf16 GEMM", kernel_ms=s.median_ns / 1e6, tflops=round(tflops, 1),
                rel_iqr=round(s.rel_iqr, 4))


@pytest.mark.gpu
@needs_gpu
def test_report_from_real_measurements(kb):
    n = 1 << 26  # 256 MiB per fp32 tensor: far beyond any L2
    x, y = torch.randn(n, device="cuda"), torch.randn(n, device="cuda")
    out = torch.empty_like(x)
    copy = kb.Timer(lambda: out.copy_(x), "cuda", warmup=3, reps=20, min_reps=5, max_ms=2000).run()
    add = kb.Timer(lambda: torch.add(x, y, out=out), "cuda", warmup=3, reps=20, min_reps=5, max_ms=2000).run()
    copy_gbps = kb.copy_bytes(n, 4) / copy.median_s / kb.GB
    ceilings = kb.Ceilings(copy_gbps, 100.0)
    runs = [kb.Measurement.from_stats("copy_fp32", kb.copy_bytes(n, 4), 0, copy),
            kb.Measurement.from_stats("add_fp32", kb.vector_add_bytes(n, 4), n, add)]
    add_point = kb.roofline(runs[1].nbytes, runs[1].flops, ceilings, runs[1].seconds)
    # The copy is the ceiling; a streaming add lands near it. Far above it means the bytes are
    # miscounted or the data was cached; far below means the timer adds host overhead.
    assert 100 < copy_gbps < 20_000
    assert 40 < add_point.pct_of_roof < 115, f"vector add at {add_point.pct_of_roof:.1f} % of copy"
    table = kb.markdown_table(runs, ceilings)
    chart = kb.bar_chart(runs, ceilings)
    assert len(table.splitlines()) == 4 and len(chart.splitlines()) == 2
    print(table, chart, sep="\n\n")
    record_perf(size="n=2^26 fp32 add", kernel_ms=add.median_ns / 1e6, gbps=round(add_point.achieved_gbps, 1),
                pct_of_copy=round(add_point.pct_of_roof, 1), copy_gbps=round(copy_gbps, 1))
