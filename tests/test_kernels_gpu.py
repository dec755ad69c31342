"""Every reference kernel against its PyTorch reference, on the GPU.

Fresh random inputs of awkward sizes (not multiples of the block), outputs
poisoned with NaN before each launch, tolerances fit for the dtype.
"""
from __future__ import annotations

import pytest

from tui.core.bench import unit_names

UNITS = unit_names()


@pytest.mark.gpu
@pytest.mark.parametrize("name", UNITS)
def test_reference_kernel_matches_pytorch(name):
    from tui.core.bench import check, compile_unit, load_unit

    unit = load_unit(name)
    module = compile_unit(unit)
    for seed, size in enumerate(unit.TEST_SIZES):
        problem = check(unit, module, size, seed=seed)
        assert problem is None, problem


@pytest.mark.gpu
def test_paged_attention_split_matches_single_pass():
    """The split-context path must agree with the one-partition path on the same inputs."""
    import torch

    from tui.core.bench import compile_unit, load_unit

    unit = load_unit("paged_attention")
    module = compile_unit(unit)
    base = {"seqs": 3, "heads": 8, "kv_heads": 2, "ctx": 2500, "ragged": True}
    t = unit.inputs(base, torch.Generator(device="cuda").manual_seed(7))
    results = []
    for parts in (1, 4):
        out = unit.outputs(t, base)
        unit.launch(module, t, out, dict(base, partitions=parts))
        results.append(out["out"].float())
    torch.testing.assert_close(results[0], results[1], atol=1e-3, rtol=1e-2)


GUARD_KERNEL = r'''
extern "C" __global__ void fill_f32(float* out, int n, int overrun) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n + overrun) out[i - (overrun < 0 ? -overrun : 0)] = 1.0f;
}
'''


@pytest.mark.gpu
@pytest.mark.parametrize("overrun,words", [(0, None), (1, "past the end"), (-2, "before the start")])
def test_check_sees_writes_outside_the_output(tmp_path, overrun, words):
    """The guard band around every output catches a kernel that writes one element too many
    (a tail bug) or starts early, although the output itself comes out right."""
    import types

    import torch

    from tui.core.bench import check, fn, i32, ptr
    from tui.core.labs.cuda_compile import load_module

    source = tmp_path / "fill.cu"
    source.write_text(GUARD_KERNEL)
    module = load_module(source)
    unit = types.SimpleNamespace(
        inputs=lambda size, gen: {},
        outputs=lambda t, size: {"out": torch.full((size["n"],), float("nan"), device="cuda")},
        launch=lambda mod, t, out, size: fn(mod, "fill_f32")(
            (1,), (256,), (ptr(out["out"]), i32(size["n"]), i32(size["overrun"]))),
        reference=lambda t, size: {"out": torch.ones(size["n"], device="cuda")},
        tolerance=lambda size, t: {"atol": 0.0, "rtol": 0.0},
    )
    problem = check(unit, module, {"n": 100, "overrun": overrun})
    if words is None:
        assert problem is None
    else:
        assert problem is not None and words in problem, problem
