"""Tests for py-cuda-graph-padding: capture sizes, the padding table, dispatch by mode, the
waste of padding (CPU), and real capture and replay on a GPU."""
import bisect

import pytest
import torch
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tui.core.labs.testing import examples, load_lab_module

SETTINGS = settings(max_examples=examples(80), derandomize=True, database=None, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture],
                    phases=[Phase.explicit, Phase.generate])


@pytest.fixture
def g(lab_dir):
    return load_lab_module(lab_dir, "graphs.py")


def test_default_sizes_for_256_sequences(g):
    want = [1, 2, 4] + list(range(8, 256, 8)) + list(range(256, 513, 16))
    assert g.default_capture_sizes(256, 8192) == want  # ceiling min(2 x 256, 512) = 512: 51 sizes


def test_default_sizes_add_off_stride_batches(g):
    # 100 sequences: ceiling 200; the full decode batch of 100 is captured although 100 is off the 8-stride
    sizes = g.default_capture_sizes(100, 8192)
    assert sizes[-1] == 200 and 100 in sizes and 196 not in sizes
    # a token budget below the ceiling caps the list and is itself captured
    sizes = g.default_capture_sizes(64, 100)
    assert sizes[-1] == 100 and 96 in sizes and 64 in sizes and 104 not in sizes
    # tiny engines
    assert g.default_capture_sizes(1, 1) == [1]
    assert g.default_capture_sizes(3, 2048) == [1, 2, 3, 4]
    # the platform ceiling: 1,024 sequences on Hopper still stop at 512
    assert g.default_capture_sizes(1024, 8192)[-1] == 512 and 1024 not in g.default_capture_sizes(1024, 8192)


def test_default_sizes_refuse_nonsense(g):
    with pytest.raises(ValueError):
        g.default_capture_sizes(0, 8192)


@SETTINGS
@given(st.lists(st.integers(1, 300), min_size=1, max_size=20, unique=True))
def test_padded_size_is_the_smallest_captured_size_that_fits(g, sizes):
    table = g.padded_size_table(sorted(sizes, reverse=True))  # any order in, same table out
    ordered = sorted(sizes)
    assert len(table) == ordered[-1] + 1 and table[0] == 0
    for n in range(1, len(table)):
        assert table[n] == ordered[bisect.bisect_left(ordered, n)], n


def test_dispatch_by_mode(g):
    table = g.padded_size_table([1, 2, 4, 8, 16])
    assert g.dispatch(5, True, "FULL_AND_PIECEWISE", table) == ("FULL", 8)
    assert g.dispatch(5, False, "FULL_AND_PIECEWISE", table) == ("PIECEWISE", 8)
    assert g.dispatch(3, False, "FULL_DECODE_ONLY", table) == ("NONE", 3)
    assert g.dispatch(3, True, "FULL_DECODE_ONLY", table) == ("FULL", 4)
    assert g.dispatch(9, False, "FULL", table) == ("FULL", 16)
    assert g.dispatch(9, True, "PIECEWISE", table) == ("PIECEWISE", 16)
    assert g.dispatch(16, True, "NONE", table) == ("NONE", 16)
    assert g.dispatch(17, True, "FULL_AND_PIECEWISE", table) == ("NONE", 17)  # larger than every graph
    assert g.dispatch(16, True, "FULL_AND_PIECEWISE", table) == ("FULL", 16)  # exactly the largest
    with pytest.raises(ValueError):
        g.dispatch(1, True, "PIECEWISE_ONLY", table)


def test_padding_waste(g):
    table = g.padded_size_table([1, 2, 4, 8])
    # 3 -> 4 (1 pad), 5 -> 8 (3 pad), 8 -> 8, 9 runs eagerly and is left out
    assert g.padding_waste([3, 5, 8, 9], table) == pytest.approx(4 / 20)
    assert g.padding_waste([12], table) == 0.0


@pytest.mark.gpu
def test_graph_replay_matches_eager_and_pads(g):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device: capture and replay need a GPU; the sizing and dispatch tests ran")
    torch.manual_seed(0)
    hidden = 256
    model = torch.nn.Sequential(torch.nn.Linear(hidden, 512), torch.nn.GELU(), torch.nn.Linear(512, hidden)).cuda()
    sizes = [1, 2, 4, 8, 16, 24, 32]
    with torch.no_grad():
        runner = g.GraphRunner(model, hidden, sizes)
        for n in (1, 3, 7, 16, 17, 31, 32, 40, 5, 1):  # up and down, so stale padding rows exist
            x = torch.randn(n, hidden, device="cuda") * 10
            want = model(x)
            got = runner(x)
            torch.cuda.synchronize()
            assert got.shape == want.shape
            assert torch.allclose(got, want, atol=1e-4, rtol=1e-4), f"batch {n}"
            if n <= 32:
                size = sizes[bisect.bisect_left(sizes, n)]
                assert got.data_ptr() == runner.outputs[size].data_ptr(), f"batch {n} did not replay graph {size}"
