"""Stage 3: the CUDA decode kernel. It compiles on any machine (NVRTC); on a GPU it
must equal SDPA on the contiguous K/V (the answer stage 1 is held to) on fresh random
inputs, in fp16 and bf16, with the same adversarial cases, NaN-poisoned outputs and a
guard row on each side of the output. Without a GPU the correctness test skips and the
stage reports "compiled": correctness needs a GPU.
"""
import pytest
import torch
from conftest import (
    CUDA_FILE,
    GUARD_ROWS,
    check_output,
    cuda_module,
    fresh_seed,
    launch_cuda,
    make_case,
    poisoned_output,
    two_kv_heads_of_opposite_sign,
)

from tui.core.labs.kernel_checks import assert_compiles

HEAD = 128
# (seq_lens, block_size, num_heads, num_kv_heads, layout, q_scale)
SIZES = [
    ([1], 16, 1, 1, "NHD", 1.0),
    ([1, 2, 3, 4, 5], 16, 4, 4, "HND", 1.0),  # fewer tokens than warps
    ([300, 17, 255, 31], 16, 8, 2, "NHD", 1.0),
    ([513, 64, 1000], 16, 32, 4, "HND", 1.0),  # group 8, the most the kernel serves
    ([77, 130], 5, 8, 1, "NHD", 1.0),  # MQA, a block size that is not a power of two
    ([200, 33], 16, 8, 2, "HND", 40.0),  # scores in the hundreds: the max must be subtracted
]


def test_compiles(lab_dir):
    assert_compiles(lab_dir / CUDA_FILE)


@pytest.fixture
def module(lab_dir):
    from tui.core.labs.gpu import require_gpu

    require_gpu()
    return cuda_module(lab_dir)


def _run_checked(module, case, scale, what):
    buf, out = poisoned_output(case)
    launch_cuda(module, case, scale, out)
    torch.cuda.synchronize()
    guards = torch.cat([buf[:GUARD_ROWS], buf[-GUARD_ROWS:]])
    if not bool(torch.isnan(guards.float()).all()):
        pytest.fail(f"{what}: the kernel wrote outside the output (a guard row next to it changed). "
                    f"{case.describe()}", pytrace=False)
    check_output(out, case, scale, what)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=["fp16", "bf16"])
def test_matches_sdpa_on_fresh_inputs(module, dtype):
    seed = fresh_seed()
    for i, (lens, bs, heads, kv_heads, layout, q_scale) in enumerate(SIZES):
        case = make_case(lens, block_size=bs, num_heads=heads, num_kv_heads=kv_heads, head_size=HEAD, dtype=dtype,
                         layout=layout, seed=seed + i, q_scale=q_scale, device="cuda")
        _run_checked(module, case, HEAD ** -0.5, f"paged_decode (seed {seed + i})")


@pytest.mark.gpu
def test_gqa_query_head_h_reads_kv_head_h_div_group(module):
    case = make_case([3, 40], block_size=16, num_heads=4, num_kv_heads=2, head_size=HEAD, dtype=torch.float16,
                     seed=fresh_seed(), device="cuda")
    two_kv_heads_of_opposite_sign(case)
    out = launch_cuda(module, case, 0.1).float().cpu()
    expected = torch.tensor([1.0, 1.0, -1.0, -1.0])[None, :, None].expand(2, 4, HEAD)
    assert torch.allclose(out, expected, atol=1e-3), (
        f"query heads 0..3 should read KV heads 0, 0, 1, 1 (h // group); got {out[:, :, 0].tolist()}")


@pytest.mark.gpu
@pytest.mark.parametrize("scale", [1.0, 0.01])
def test_scale_is_applied(module, scale):
    case = make_case([50, 9], num_heads=4, num_kv_heads=2, head_size=HEAD, dtype=torch.float16, seed=fresh_seed(),
                     device="cuda")
    _run_checked(module, case, scale, f"paged_decode with scale {scale}")


@pytest.mark.gpu
def test_same_answer_twice(module):
    # A race or a read of uninitialised shared memory rarely comes out right twice.
    case = make_case([700, 45, 129], num_heads=16, num_kv_heads=2, head_size=HEAD, dtype=torch.bfloat16,
                     seed=fresh_seed(), device="cuda")
    a = launch_cuda(module, case, HEAD ** -0.5).clone()
    b = launch_cuda(module, case, HEAD ** -0.5)
    torch.cuda.synchronize()
    assert torch.equal(a.nan_to_num(1e9), b.nan_to_num(1e9)), "two launches on the same inputs disagree"
    check_output(b, case, HEAD ** -0.5, "paged_decode (second launch)")
