"""triton-softmax: correct under the Triton interpreter (CPU) or natively (GPU); timed on a GPU."""
import pytest
import torch

from tui.core.labs.testing import load_lab_module, record_perf

GPU = torch.cuda.is_available()
DEVICE = "cuda" if GPU else "cpu"
TOL = {torch.float16: dict(atol=1e-5, rtol=2e-3), torch.float32: dict(atol=1e-7, rtol=1e-5)}


@pytest.fixture
def lab(lab_dir, monkeypatch):
    if not GPU:
        monkeypatch.setenv("TRITON_INTERPRET", "1")
    pytest.importorskip("triton", reason="Triton is not installed (pip install triton)")
    return load_lab_module(lab_dir, "softmax.py")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
@pytest.mark.parametrize("rows,cols", [(1, 1), (3, 1000), (2, 4097), (4, 9000)])
def test_matches_torch(lab, rows, cols, dtype):
    x = (3 * torch.randn(rows, cols, device=DEVICE)).to(dtype)
    y = lab.softmax(x)
    assert y.dtype == dtype and y.shape == x.shape
    torch.testing.assert_close(y, torch.softmax(x.float(), -1).to(dtype), **TOL[dtype])


@pytest.mark.gpu
def test_timed_on_gpu(lab):
    if not GPU:
        pytest.skip("no CUDA device: the interpreter run above is the check here")
    from tui.core.labs.timing import copy_bandwidth_gbps, time_cuda

    x = torch.randn(32768, 4096, device="cuda").half()
    torch.testing.assert_close(lab.softmax(x), torch.softmax(x.float(), -1).half(), **TOL[torch.float16])
    ms = time_cuda(lambda: lab.softmax(x)).median_ms
    torch_ms = time_cuda(lambda: torch.softmax(x, -1)).median_ms
    gbps = 2 * x.numel() * 2 / ms / 1e6
    record_perf(size="32768x4096 fp16", kernel_ms=ms, gbps=gbps, pct_of_copy=100 * gbps / copy_bandwidth_gbps(),
                vs_torch=torch_ms / ms)
