"""Stage 2: roofline arithmetic: bytes and FLOPs of known kernels, ceilings, ridge, bound, % of roof.

Ceilings used here are the course H100's measured ones (FACTS.md): a device copy at
2,962 GB/s (bytes read + written) and a bf16 GEMM at 727 TFLOP/s; and its datasheet
figures, 3.35 TB/s and 989 TFLOP/s dense bf16.
"""
import math

import pytest

from tui.core.labs.testing import load_lab_module


@pytest.fixture
def kb(lab_dir):
    return load_lab_module(lab_dir, "kernel_bench.py")


@pytest.fixture
def h100(kb):
    return kb.Ceilings(bandwidth_gbps=2962, peak_tflops=727)


# ------------------------------------------------------------ counting


def test_bytes_count_every_read_and_every_write(kb):
    n = 1 << 28
    assert kb.copy_bytes(n, 4) == 2 * 4 * n  # read src, write dst
    assert kb.vector_add_bytes(n, 4) == 3 * 4 * n == 3_221_225_472  # read a, read b, write c
    assert kb.vector_add_bytes(1000, 2) == 6000


def test_gemm_counts(kb):
    assert kb.gemm_flops(8192, 8192, 8192) == 2 * 8192**3 == 1_099_511_627_776
    assert kb.gemm_flops(1, 4096, 11008) == 2 * 4096 * 11008  # m, n, k are not interchangeable with a constant
    assert kb.gemm_flops(3, 5, 7) == 210
    # A (m x k) and B (k x n) read once, C (m x n) written once
    assert kb.gemm_bytes(4096, 4096, 4096, 2) == 3 * 4096 * 4096 * 2
    assert kb.gemm_bytes(2, 3, 5, 4) == (2 * 5 + 5 * 3 + 2 * 3) * 4


# ------------------------------------------------------------ units and ceilings


def test_gb_and_gib_are_different_units(kb):
    assert kb.GB == 10**9 and kb.GiB == 2**30
    assert kb.gib_to_gb(1) == pytest.approx(1.073741824)
    assert kb.gb_to_gib(1.073741824) == pytest.approx(1.0)
    c = kb.Ceilings.from_gibps(2000, 500)
    assert c.bandwidth_gbps == pytest.approx(2147.483648)
    assert c.peak_tflops == 500


def test_ridge_is_peak_over_bandwidth(kb, h100):
    assert h100.ridge == pytest.approx(727e12 / 2962e9)  # ~245.4 FLOP/byte
    assert h100.ridge == pytest.approx(245.44, abs=0.01)
    spec = kb.Ceilings(3350, 989)
    assert spec.ridge == pytest.approx(295.22, abs=0.01)
    assert kb.Ceilings(3350, 67).ridge == pytest.approx(20.0, abs=0.01)  # fp32 CUDA cores


@pytest.mark.parametrize("bw, peak", [(0, 727), (2962, 0), (-1, 727), (2962, float("nan")), (float("inf"), 727)])
def test_bad_ceilings(kb, bw, peak):
    with pytest.raises(ValueError):
        kb.Ceilings(bw, peak)


# ------------------------------------------------------------ placing kernels


def test_vector_add_is_memory_bound(kb, h100):
    n = 1 << 28
    p = kb.roofline(kb.vector_add_bytes(n, 4), n, h100)
    assert p.bound == "memory"
    assert p.intensity == pytest.approx(1 / 12)
    assert p.floor_s == pytest.approx(3_221_225_472 / 2962e9)  # bytes / bandwidth
    assert p.attainable_tflops == pytest.approx(2962e9 / 12 / 1e12)  # intensity x bandwidth
    assert p.measured_s is None and p.pct_of_roof is None


def test_big_gemm_is_compute_bound(kb, h100):
    f, b = kb.gemm_flops(8192, 8192, 8192), kb.gemm_bytes(8192, 8192, 8192, 2)
    p = kb.roofline(b, f, h100)
    assert p.bound == "compute"
    assert p.intensity == pytest.approx(8192 / 3)  # 2 n^3 / (3 n^2 x 2 bytes)
    assert p.floor_s == pytest.approx(f / 727e12)
    assert p.attainable_tflops == pytest.approx(727)


def test_decode_gemv_is_memory_bound(kb, h100):
    # batch 1: m = 1. About one FLOP per byte, far left of a 245 FLOP/byte ridge.
    f, b = kb.gemm_flops(1, 4096, 4096), kb.gemm_bytes(1, 4096, 4096, 2)
    p = kb.roofline(b, f, h100)
    assert p.bound == "memory" and p.intensity == pytest.approx(33_554_432 / 33_570_816)


def test_middle_intensity_sits_left_of_the_ridge(kb, h100):
    # 100 FLOP/byte: compute-bound on the fp32 roof (ridge ~17) but memory-bound on tensor cores (~245)
    assert kb.roofline(10**6, 10**8, h100).bound == "memory"
    assert kb.roofline(10**6, 10**8, kb.Ceilings(2962, 50)).bound == "compute"


def test_measured_vector_add(kb, h100):
    n = 1 << 28
    p = kb.roofline(kb.vector_add_bytes(n, 4), n, h100, measured_s=1.171e-3)
    assert p.achieved_gbps == pytest.approx(3_221_225_472 / 1.171e-3 / 1e9)  # 2,750.8 GB/s (decimal)
    assert p.achieved_gbps == pytest.approx(2750.83, abs=0.01)
    assert p.pct_of_roof == pytest.approx(92.87, abs=0.01)  # 2750.83 / 2962
    assert p.achieved_tflops == pytest.approx(n / 1.171e-3 / 1e12)
    assert not p.above_roof


def test_measured_gemm_is_judged_against_the_compute_roof(kb, h100):
    f, b = kb.gemm_flops(8192, 8192, 8192), kb.gemm_bytes(8192, 8192, 8192, 2)
    p = kb.roofline(b, f, h100, measured_s=1.8e-3)
    assert p.achieved_tflops == pytest.approx(610.84, abs=0.01)
    assert p.pct_of_roof == pytest.approx(84.02, abs=0.01)  # 610.84 / 727, not its GB/s over 2962
    assert p.achieved_gbps == pytest.approx(223.70, abs=0.01)


def test_gib_ceilings_give_the_same_answer(kb):
    n = 1 << 26
    gb = kb.Ceilings(2147.483648, 500)
    gib = kb.Ceilings.from_gibps(2000, 500)
    a = kb.roofline(kb.copy_bytes(n, 4), 0, gb, measured_s=1e-3)
    b = kb.roofline(kb.copy_bytes(n, 4), 0, gib, measured_s=1e-3)
    assert a.pct_of_roof == pytest.approx(b.pct_of_roof)
    assert a.achieved_gbps == pytest.approx(536.870912)  # GB/s, never GiB/s


def test_above_the_roof_is_flagged(kb, h100):
    # 3.2 GB in 0.5 ms would be 6.4 TB/s on a 2.96 TB/s part: the byte count or the flush is wrong
    n = 1 << 28
    p = kb.roofline(kb.vector_add_bytes(n, 4), n, h100, measured_s=0.5e-3)
    assert p.above_roof and p.pct_of_roof > 100


# ------------------------------------------------------------ adversarial inputs


def test_zero_flops_is_a_copy_not_an_error(kb, h100):
    p = kb.roofline(kb.copy_bytes(1 << 28, 4), 0, h100, measured_s=0.8e-3)
    assert p.intensity == 0 and p.bound == "memory" and p.attainable_tflops == 0
    assert p.achieved_tflops == 0
    assert p.pct_of_roof == pytest.approx(100 * (2 * 4 * (1 << 28) / 2962e9) / 0.8e-3)


def test_zero_bytes_is_an_error(kb, h100):
    with pytest.raises(ValueError, match="bytes"):
        kb.roofline(0, 10**9, h100)
    with pytest.raises(ValueError, match="bytes"):
        kb.roofline(0, 0, h100)


@pytest.mark.parametrize("nbytes, flops", [(-1, 10), (10, -1), (math.nan, 10), (10, math.inf)])
def test_negative_or_non_finite_counts(kb, h100, nbytes, flops):
    with pytest.raises(ValueError):
        kb.roofline(nbytes, flops, h100)


@pytest.mark.parametrize("t", [0, -1e-3, math.nan, math.inf])
def test_bad_measured_time(kb, h100, t):
    with pytest.raises(ValueError):
        kb.roofline(1000, 1000, h100, measured_s=t)
