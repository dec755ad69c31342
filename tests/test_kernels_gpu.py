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
