"""Stage 3: a Triton RMSNorm family tuned through the stage-2 tuner.

Without a GPU the kernel runs under the Triton interpreter (TRITON_INTERPRET=1):
every config is checked against torch, and timings are ignored, because the
interpreter's time is numpy's loop overhead, not the kernel's. Sizes stay tiny.
"""
import json

import pytest
import torch

from tui.core.labs.testing import load_lab_module, record_perf

GPU = torch.cuda.is_available()
DEVICE = "cuda" if GPU else "cpu"
EPS = 1e-6
PAD = 1e4  # what an unmasked load past the end of a row reads instead of zeros


@pytest.fixture
def fam(lab_dir, monkeypatch):
    if not GPU:
        monkeypatch.setenv("TRITON_INTERPRET", "1")
    pytest.importorskip("triton", reason="Triton is not installed (pip install triton)")
    return load_lab_module(lab_dir, "rmsnorm_family.py")


@pytest.fixture
def tn(lab_dir):
    return load_lab_module(lab_dir, "tuner.py")


def padded_rows(rows, cols, dtype=torch.float32, seed=0):
    """x[rows, cols] whose rows are strided views into a wider buffer padded with PAD
    (128 columns, more than any BLOCK_SIZE - 1 here), so a load that ignores the row
    length reads PAD, stays inside the buffer, and the result goes wrong."""
    g = torch.Generator().manual_seed(seed)
    buf = torch.full((rows, cols + 128), PAD)
    buf[:, :cols] = torch.randn(rows, cols, generator=g)
    return buf.to(dtype).to(DEVICE)[:, :cols]


def weights(cols, dtype=torch.float32, seed=1):
    g = torch.Generator().manual_seed(seed)
    return (1 + 0.1 * torch.randn(cols, generator=g)).to(dtype).to(DEVICE)


def torch_rmsnorm(x, w):
    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + EPS) * w.float()).to(x.dtype)


def test_search_space(fam):
    assert fam.search_space(max_block=64, warps=(4,)) == [{"BLOCK_SIZE": b, "num_warps": 4} for b in (16, 32, 64)]
    space = fam.search_space()
    assert len(space) == 12 and len({tuple(sorted(c.items())) for c in space}) == 12
    assert {c["BLOCK_SIZE"] for c in space} == {16, 32, 64, 128}
    assert {c["num_warps"] for c in space} == {1, 2, 4}
    assert fam.DEFAULT_CONFIG in space
    assert isinstance(fam.KERNEL_NAME, str) and isinstance(fam.KERNEL_VERSION, str)


@pytest.mark.parametrize("rows,cols", [(1, 1), (2, 64), (3, 100)])
def test_every_config_matches_torch(fam, rows, cols):
    # 100 is a multiple of no BLOCK_SIZE in the space: the last chunk of every row is partial.
    x, w = padded_rows(rows, cols), weights(cols)
    expected = torch_rmsnorm(x, w)
    for config in fam.search_space():
        y = fam.rmsnorm(x, w, EPS, config)
        assert y.shape == (rows, cols) and y.dtype == x.dtype
        torch.testing.assert_close(y, expected, atol=1e-5, rtol=1e-5, msg=lambda m: f"config {config}: {m}")


def test_fp16_rows(fam):
    x, w = padded_rows(2, 40, torch.float16), weights(40, torch.float16)
    y = fam.rmsnorm(x, w, EPS, {"BLOCK_SIZE": 16, "num_warps": 1})
    assert y.dtype == torch.float16
    torch.testing.assert_close(y, torch_rmsnorm(x, w), atol=2e-3, rtol=2e-3)


def test_benchmark_returns_ms_and_rejects_wrong_results(fam, tn, tmp_path, monkeypatch):
    x, w = padded_rows(2, 40), weights(40)
    ms = fam.make_benchmark(x, w, EPS, reps=1)(fam.DEFAULT_CONFIG, tuple(x.shape))
    assert isinstance(ms, float) and ms > 0
    # A config whose output is wrong must fail its benchmark, so the tuner can never pick it.
    real = fam.rmsnorm

    def wrong_at_128(x, w, eps, config):
        y = real(x, w, eps, config)
        return y + 1 if config["BLOCK_SIZE"] == 128 else y

    monkeypatch.setattr(fam, "rmsnorm", wrong_at_128)
    with pytest.raises(Exception):
        fam.make_benchmark(x, w, EPS, reps=1)({"BLOCK_SIZE": 128, "num_warps": 1}, tuple(x.shape))
    cache = tn.ConfigCache(tmp_path / "c.json", "cpu-interpreter", fam.KERNEL_NAME, fam.KERNEL_VERSION)
    space = [{"BLOCK_SIZE": 128, "num_warps": 1}, fam.DEFAULT_CONFIG]
    assert tn.tune(cache, tuple(x.shape), space, fam.make_benchmark(x, w, EPS, reps=1), fam.DEFAULT_CONFIG).config \
        == fam.DEFAULT_CONFIG


def test_tuned_through_stage2(fam, tn, tmp_path):
    path = tmp_path / "tuned.json"
    x, w = padded_rows(2, 40), weights(40)
    y, first = fam.tuned_rmsnorm(x, w, EPS, tn, path, "cpu-interpreter", reps=1)
    assert first.cached is False and first.benchmarked == 12  # the default is in the space: measured once
    assert first.config in fam.search_space()
    torch.testing.assert_close(y, torch_rmsnorm(x, w), atol=1e-5, rtol=1e-5)
    data = json.loads(path.read_text())
    assert list(data["entries"]) == [f"{fam.KERNEL_NAME}|cpu-interpreter|2x64"]
    assert data["entries"][f"{fam.KERNEL_NAME}|cpu-interpreter|2x64"]["kernel_version"] == fam.KERNEL_VERSION
    # Same bucket (2x64): served from the cache, no benchmark runs, still correct.
    x2, w2 = padded_rows(2, 33, seed=5), weights(33, seed=6)
    y2, again = fam.tuned_rmsnorm(x2, w2, EPS, tn, path, "cpu-interpreter", reps=1)
    assert again.cached is True and again.benchmarked == 0 and again.config == first.config
    torch.testing.assert_close(y2, torch_rmsnorm(x2, w2), atol=1e-5, rtol=1e-5)


@pytest.mark.gpu
def test_tuned_on_gpu(fam, tn, tmp_path):
    if not GPU:
        pytest.skip("no CUDA device: interpreter timings mean nothing, so only correctness is checked here")
    x = torch.randn(4096, 4096, device="cuda", dtype=torch.bfloat16)
    w = torch.ones(4096, device="cuda", dtype=torch.bfloat16)
    name = torch.cuda.get_device_name()
    y, r = fam.tuned_rmsnorm(x, w, EPS, tn, tmp_path / "tuned.json", name, reps=20, max_block=4096, warps=(1, 2, 4, 8))
    torch.testing.assert_close(y, torch_rmsnorm(x, w), atol=2e-2, rtol=2e-2)
    assert r.speedup >= 1.0  # the default is one of the candidates
    gbps = 2 * x.numel() * 2 / r.best_ms / 1e6  # read x, write y (bf16)
    record_perf(size="4096x4096 bf16", device=name, best=str(r.config), best_ms=r.best_ms,
                default_ms=r.default_ms, speedup=r.speedup, gbps=gbps)
