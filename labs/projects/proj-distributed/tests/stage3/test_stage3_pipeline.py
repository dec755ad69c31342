"""Stage 3: pipeline parallelism. The layer split (vLLM's get_pp_indices rule), micro-batches,
the GPipe schedule and its bubble (p - 1) / (m + p - 1), and a real 2-process pipeline over
gloo whose output equals the single-process model, with one send and one receive per
micro-batch and a compute timeline that respects the stage-to-stage dependency."""
from fractions import Fraction

import pytest

from conftest import assert_close
from tui.core.labs.testing import load_lab_module

CONFIGS = [(8, 4), (7, 3), (5, 1)]  # (rows, micro-batches), as in launcher.PP_CONFIGS
WORLD = 2


@pytest.fixture(scope="module", autouse=True)
def runs(runs_for):
    return runs_for("pp")


@pytest.fixture
def pp(lab_dir):
    return load_lab_module(lab_dir, "pipeline.py")


# ------------------------------------------------------------------ plans (no processes)


@pytest.mark.parametrize("layers,p,want", [
    (6, 2, [(0, 3), (3, 6)]),
    (7, 2, [(0, 4), (4, 7)]),
    (7, 3, [(0, 2), (2, 5), (5, 7)]),
    (10, 4, [(0, 2), (2, 5), (5, 8), (8, 10)]),
    (5, 1, [(0, 5)]),
])
def test_split_layers_follows_get_pp_indices(pp, layers, p, want):
    assert [tuple(b) for b in pp.split_layers(layers, p)] == want


def test_split_layers_refuses_more_stages_than_layers(pp):
    with pytest.raises(ValueError):
        pp.split_layers(2, 3)


def test_split_microbatches(pp):
    assert [tuple(b) for b in pp.split_microbatches(7, 3)] == [(0, 3), (3, 5), (5, 7)]
    assert [tuple(b) for b in pp.split_microbatches(8, 4)] == [(0, 2), (2, 4), (4, 6), (6, 8)]
    assert [tuple(b) for b in pp.split_microbatches(5, 1)] == [(0, 5)]
    with pytest.raises(ValueError):
        pp.split_microbatches(3, 4)


@pytest.mark.parametrize("p,m", [(2, 4), (4, 4), (1, 3), (8, 32), (3, 1)])
def test_bubble_fraction(pp, p, m):
    assert pp.bubble_fraction(p, m) == pytest.approx(float(Fraction(p - 1, m + p - 1)), abs=1e-15)




@pytest.mark.parametrize("p,m", [(2, 3), (3, 4), (4, 2), (1, 2)])
def test_gpipe_schedule(pp, p, m):
    sched = pp.gpipe_schedule(p, m)
    assert len(sched) == m + p - 1, "a forward takes m + p - 1 slots"
    for s in range(p):
        column = [row[s] for row in sched]
        assert [k for k in column if k is not None] == list(range(m)), f"stage {s} runs micro-batches 0..{m - 1} in order"
        assert column.index(0) == s, f"stage {s} starts at slot {s}"
    for t, row in enumerate(sched):
        for s in range(1, p):
            if row[s] is not None:
                assert row[s] in [r[s - 1] for r in sched[:t]], "a stage runs a micro-batch only after the stage before it"
    idle = sum(k is None for row in sched for k in row)
    assert Fraction(idle, p * len(sched)) == Fraction(p - 1, m + p - 1), "the schedule's idle share is the bubble"
    if (p, m) == (2, 3):
        assert [list(r) for r in sched] == [[0, None], [1, 0], [2, 1], [None, 2]]


def test_measured_bubble_of_an_ideal_timeline(pp):
    p, m = 3, 4
    events = [[(k, float(s + k), float(s + k + 1)) for k in range(m)] for s in range(p)]
    assert pp.measured_bubble(events) == pytest.approx(2 / 6)
    events = [[(0, 0.0, 1.0), (1, 1.0, 2.0)], [(0, 1.0, 1.5), (1, 2.0, 2.5)]]  # a fast second stage
    assert pp.measured_bubble(events) == pytest.approx(1 - 3 / (2 * 2.5))


# ------------------------------------------------------------------ a real 2-stage pipeline


@pytest.mark.parametrize("rows,m", CONFIGS)
def test_pipeline_output_equals_the_single_process_model(runs, rows, m):
    last = runs.check(WORLD, WORLD - 1, f"pp_{rows}_{m}")
    out, _ = last["got"]
    assert out is not None, "the last stage returns the full output"
    assert_close(out, last["want"], f"{rows} rows in {m} micro-batches: last stage output")
    first = runs.check(WORLD, 0, f"pp_{rows}_{m}")
    assert first["got"][0] is None, "only the last stage returns an output"


@pytest.mark.parametrize("rows,m", CONFIGS)
def test_one_send_and_one_receive_per_micro_batch(runs, rows, m):
    first = {k: v for k, v in runs.check(WORLD, 0, f"pp_{rows}_{m}")["calls"].items() if v}
    last = {k: v for k, v in runs.check(WORLD, 1, f"pp_{rows}_{m}")["calls"].items() if v}
    assert first.get("send", 0) + first.get("isend", 0) == m and not first.keys() - {"send", "isend"}, (
        f"stage 0 sends each of the {m} micro-batches once and calls nothing else; called {first}")
    assert last.get("recv", 0) + last.get("irecv", 0) == m and not last.keys() - {"recv", "irecv"}, (
        f"stage 1 receives each of the {m} micro-batches once and calls nothing else; called {last}")


@pytest.mark.parametrize("rows,m", CONFIGS)
def test_timeline_respects_the_pipeline(runs, rows, m, pp):
    events = [runs.check(WORLD, s, f"pp_{rows}_{m}")["got"][1] for s in range(WORLD)]
    for s, evs in enumerate(events):
        assert [e[0] for e in evs] == list(range(m)), f"stage {s} computes micro-batches 0..{m - 1} in order"
        assert all(e[1] <= e[2] for e in evs)
    for k in range(m):
        assert events[1][k][1] >= events[0][k][2], f"stage 1 starts micro-batch {k} only after stage 0 finished it"
    measured = pp.measured_bubble(events)
    assert 0.0 <= measured < 1.0
    print(f"p=2 m={m}: bubble (p-1)/(m+p-1) = {pp.bubble_fraction(2, m):.2f}, measured idle share {measured:.2f}")
