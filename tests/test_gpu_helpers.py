"""GPU detection, spec matching, roofline arithmetic and the bench CLI without a GPU."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tui.core.labs.gpu import match_spec, parse_smi
from tui.core.labs.roofline import analyse, floor_ms


def test_parse_smi_reads_every_gpu():
    text = "0, NVIDIA H100 80GB HBM3, 81559, 580.159.04, 9.0\n1, NVIDIA L4, 23034, 580.1, 8.9\n\n"
    gpus = parse_smi(text)
    assert [(g.index, g.name, g.memory_mib, g.compute_capability) for g in gpus] == [
        (0, "NVIDIA H100 80GB HBM3", 81559, "9.0"), (1, "NVIDIA L4", 23034, "8.9")]


def test_parse_smi_ignores_garbage():
    assert parse_smi("No devices were found\n") == []


@pytest.mark.parametrize("name,expected", [
    ("NVIDIA H100 80GB HBM3", "h100-sxm"), ("NVIDIA H100 PCIe", "h100-pcie"), ("NVIDIA H200", "h200"),
    ("NVIDIA A100-SXM4-80GB", "a100-sxm-80gb"), ("NVIDIA L4", "l4"), ("NVIDIA GeForce RTX 4090", "rtx-4090"),
    ("NVIDIA L40S", "l40s"), ("NVIDIA B200", "b200"), ("NVIDIA GB200", "gb200"),
    # L40 has no entry: it must match nothing rather than borrow the L4's ceilings.
    ("NVIDIA L40", None), ("Tesla T4", None)])
def test_device_names_match_specs(catalog, name, expected):
    spec = match_spec(name, catalog.gpus)
    assert (spec.id if spec else None) == expected


def test_match_is_whole_words_not_substrings():
    from types import SimpleNamespace

    specs = {"l4": SimpleNamespace(id="l4", match=["L4"]), "b200": SimpleNamespace(id="b200", match=["B200"])}
    assert match_spec("NVIDIA L4", specs).id == "l4"
    assert match_spec("nvidia l4", specs).id == "l4"
    for name in ("NVIDIA L40S", "NVIDIA L40", "NVIDIA GB200", "NVIDIA B2000"):
        assert match_spec(name, specs) is None, name


def test_gpu_specs_name_their_memory_type(catalog):
    for spec in catalog.gpus.values():
        assert spec.mem_gbps > 0 and spec.memory_type, spec.id
    assert catalog.gpus["l4"].memory_type.startswith("GDDR")
    assert catalog.gpus["l40s"].memory_type.startswith("GDDR")


def test_roofline_memory_bound_kernel():
    # 1 GB in 0.5 ms = 2000 GB/s; 3000 GB/s measured copy -> 66.7 %.
    r = analyse(0.5, 1e9, 1e8, copy_gbps=3000, peak_gbps=3350, peak_tflops=67)
    assert r.bound == "memory"
    assert r.gbps == pytest.approx(2000) and r.pct_of_copy == pytest.approx(66.6667, rel=1e-4)
    assert r.pct_of_peak == pytest.approx(100 * 2000 / 3350)


def test_roofline_compute_bound_kernel():
    flops = 2 * 4096 ** 3
    r = analyse(3.2, 4 * 3 * 4096 ** 2, flops, peak_gbps=3350, peak_tflops=67)
    assert r.bound == "compute" and r.tflops == pytest.approx(flops / 3.2e-3 / 1e12)
    assert r.pct_of_peak == pytest.approx(100 * r.tflops / 67)


def test_floor_is_the_larger_roof():
    assert floor_ms(3e9, 0, 3000, 67) == pytest.approx(1.0)
    assert floor_ms(1, 67e12, 3000, 67) == pytest.approx(1000.0)


def test_bench_without_gpu_says_why(tmp_path):
    from tui.core.labs.gpu import has_gpu

    if has_gpu():
        pytest.skip("this machine has a GPU: the GPU suite runs the bench")
    proc = subprocess.run([sys.executable, "-m", "tui.cli.bench", "kernels", "--json"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "no GPU" in json.loads(proc.stdout)["error"]


def test_require_gpu_skips_with_a_reason():
    from tui.core.labs.gpu import has_gpu, require_gpu

    if has_gpu():
        pytest.skip("this machine has a GPU")
    with pytest.raises(pytest.skip.Exception, match="compile check only"):
        require_gpu()


@pytest.mark.gpu
def test_copy_bandwidth_and_timing_on_gpu():
    import torch

    from tui.core.labs.timing import copy_bandwidth_gbps, time_cuda

    assert copy_bandwidth_gbps(1 << 28) > 100  # any real GPU copies faster than 100 GB/s
    x = torch.randn(1 << 24, device="cuda")
    t = time_cuda(lambda: x.mul_(1.0), runs=10)
    assert 0 < t.p10_ms <= t.median_ms <= t.p90_ms
