"""triton-vector-add: correct under the Triton interpreter (CPU) or natively (GPU); timed on a GPU."""
import pytest
import torch

from tui.core.labs.testing import load_lab_module, record_perf

GPU = torch.cuda.is_available()
DEVICE = "cuda" if GPU else "cpu"


@pytest.fixture
def lab(lab_dir, monkeypatch):
    if not GPU:  # must be set before the kernel is decorated, i.e. before the import
        monkeypatch.setenv("TRITON_INTERPRET", "1")
    pytest.importorskip("triton", reason="Triton is not installed (pip install triton)")
    return load_lab_module(lab_dir, "vector_add.py")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
@pytest.mark.parametrize("n", [1, 1000, 4097, 100_003])
def test_matches_torch(lab, n, dtype):
    x = torch.randn(n, device=DEVICE).to(dtype)
    y = torch.randn(n, device=DEVICE).to(dtype)
    out = lab.add(x, y)
    assert out.shape == x.shape and out.dtype == dtype
    torch.testing.assert_close(out, x + y, atol=0, rtol=0)


@pytest.mark.gpu
def test_timed_on_gpu(lab):
    if not GPU:
        pytest.skip("no CUDA device: the interpreter run above is the check here")
    from tui.core.labs.timing import copy_bandwidth_gbps, time_cuda

    n = 1 << 28
    x, y = torch.randn(n, device="cuda"), torch.randn(n, device="cuda")
    torch.testing.assert_close(lab.add(x, y), x + y, atol=0, rtol=0)
    ms = time_cuda(lambda: lab.add(x, y)).median_ms
    torch_ms = time_cuda(lambda: torch.add(x, y)).median_ms
    gbps = 12 * n / ms / 1e6
    record_perf(size="n=2^28 fp32", kernel_ms=ms, gbps=gbps, pct_of_copy=100 * gbps / copy_bandwidth_gbps(),
                vs_torch=torch_ms / ms)
