"""triton-paged-attention: against dense attention for ragged lengths, MHA and
GQA, fp16 and fp32; under the interpreter on CPU, natively on a GPU."""
import math

import pytest
import torch

from tui.core.labs.testing import load_lab_module, record_perf

GPU = torch.cuda.is_available()
DEVICE = "cuda" if GPU else "cpu"
BLOCK, HEAD = 16, 128


@pytest.fixture
def lab(lab_dir, monkeypatch):
    if not GPU:
        monkeypatch.setenv("TRITON_INTERPRET", "1")
    pytest.importorskip("triton", reason="Triton is not installed (pip install triton)")
    return load_lab_module(lab_dir, "paged_attention.py")


def make(seqs, heads, kv_heads, max_len, dtype, ragged=True, device=DEVICE):
    lens = torch.randint(1, max_len + 1, (seqs,)) if ragged else torch.full((seqs,), max_len)
    lens[0] = max_len
    nblk = [-(-int(n) // BLOCK) for n in lens]
    num_blocks = sum(nblk) + 3
    perm = torch.randperm(num_blocks).int()  # scattered blocks
    tables = torch.zeros(seqs, max(nblk), dtype=torch.int32)
    at = 0
    for i, k in enumerate(nblk):
        tables[i, :k] = perm[at : at + k]
        at += k
    q = torch.randn(seqs, heads, HEAD).to(dtype)
    kc = torch.randn(num_blocks, BLOCK, kv_heads, HEAD).to(dtype)
    vc = torch.randn(num_blocks, BLOCK, kv_heads, HEAD).to(dtype)
    return [t.to(device) for t in (q, kc, vc, tables, lens.int())]


def dense(q, kc, vc, tables, lens):
    heads, kv_heads = q.shape[1], kc.shape[2]
    outs = []
    for i, n in enumerate(lens.tolist()):
        blocks = tables[i, : -(-n // BLOCK)].long()
        k = kc[blocks].reshape(-1, kv_heads, HEAD)[:n].float().repeat_interleave(heads // kv_heads, 1)
        v = vc[blocks].reshape(-1, kv_heads, HEAD)[:n].float().repeat_interleave(heads // kv_heads, 1)
        p = (torch.einsum("hd,nhd->hn", q[i].float(), k) / math.sqrt(HEAD)).softmax(-1)
        outs.append(torch.einsum("hn,nhd->hd", p, v))
    return torch.stack(outs)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
@pytest.mark.parametrize("seqs,heads,kv_heads,max_len", [(1, 1, 1, 1), (3, 4, 4, 70), (2, 8, 2, 100)])
def test_matches_dense_attention(lab, seqs, heads, kv_heads, max_len, dtype):
    q, kc, vc, tables, lens = make(seqs, heads, kv_heads, max_len, dtype)
    out = lab.paged_decode(q, kc, vc, tables, lens)
    assert out.dtype == dtype and out.shape == q.shape
    tol = dict(atol=1e-3, rtol=1e-2) if dtype == torch.float16 else dict(atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(out.float(), dense(q, kc, vc, tables, lens), **tol)


@pytest.mark.gpu
def test_timed_on_gpu(lab):
    if not GPU:
        pytest.skip("no CUDA device: the interpreter runs above are the check here")
    from tui.core.labs.timing import copy_bandwidth_gbps, time_cuda

    q, kc, vc, tables, lens = make(64, 32, 8, 4096, torch.float16, ragged=False, device="cuda")
    out = lab.paged_decode(q, kc, vc, tables, lens)
    torch.testing.assert_close(out[:2].float(), dense(q[:2], kc, vc, tables[:2], lens[:2]), atol=1e-3, rtol=1e-2)
    ms = time_cuda(lambda: lab.paged_decode(q, kc, vc, tables, lens)).median_ms
    nbytes = 64 * 4096 * 8 * HEAD * 2 * 2
    gbps = nbytes / ms / 1e6
    record_perf(size="B64 H32/8 L4096 fp16", kernel_ms=ms, gbps=gbps, pct_of_copy=100 * gbps / copy_bandwidth_gbps())
