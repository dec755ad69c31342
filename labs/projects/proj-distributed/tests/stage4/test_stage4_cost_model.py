"""Stage 4: an α–β cost model of ring and tree all-reduce. The formulas and the fit are checked
exactly on synthetic data; then all_reduce is timed in real gloo groups of 2, 3 and 4 processes
(4 KB to 16 MB, one world at a time), α and β are fitted per world on seven sizes and the model
predicts three held-out sizes. The machine is shared and noisy: each point is the median of
repeats, and only the median relative error of the held-out predictions is bounded (generously).
No test asserts an absolute time."""
import math
import statistics

import pytest

from tui.core.labs.testing import load_lab_module

FIT_SIZES = [4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20]  # as in launcher.py
HELD_OUT_SIZES = [32 << 10, 512 << 10, 8 << 20]
WORLDS = (2, 3, 4)
REPEATS = 5
MAX_MEDIAN_REL_ERROR = 1.0  # generous: 2 shared cores, up to 4 processes; 23–57 % seen here under load


@pytest.fixture(scope="module", autouse=True)
def runs(runs_for):
    return runs_for("allreduce")


@pytest.fixture
def cm(lab_dir):
    return load_lab_module(lab_dir, "cost_model.py")


# ------------------------------------------------------------------ formulas (exact)


@pytest.mark.parametrize("p", [2, 3, 4, 8])
def test_ring_formula(cm, p):
    a, b, n = 3e-6, 2e9, 1 << 20
    assert cm.ring_allreduce_time(n, p, a, b) == pytest.approx(2 * (p - 1) * a + 2 * (p - 1) / p * n / b, rel=1e-12)


@pytest.mark.parametrize("p,depth", [(2, 1), (3, 2), (4, 2), (8, 3), (9, 4)])
def test_tree_formula(cm, p, depth):
    a, b, n = 3e-6, 2e9, 1 << 20
    assert cm.tree_allreduce_time(n, p, a, b) == pytest.approx(2 * depth * a + 2 * n / b, rel=1e-12)


def test_one_rank_costs_nothing(cm):
    assert cm.ring_allreduce_time(1 << 20, 1, 1e-6, 1e9) == 0
    assert cm.tree_allreduce_time(1 << 20, 1, 1e-6, 1e9) == 0


def test_crossovers(cm):
    a, b = 1e-6, 450e9  # the lesson's NVLink figures
    assert cm.latency_bandwidth_crossover(8, a, b) == pytest.approx(3.6e6)  # n* = p·α·β
    n = cm.ring_tree_crossover(8, a, b)
    assert n == pytest.approx(4 * 8 * a * b)  # ((p - 1) - log2 p)·p·α·β
    assert cm.ring_allreduce_time(n, 8, a, b) == pytest.approx(cm.tree_allreduce_time(n, 8, a, b))
    assert cm.tree_allreduce_time(n / 2, 8, a, b) < cm.ring_allreduce_time(n / 2, 8, a, b)
    assert cm.tree_allreduce_time(n * 2, 8, a, b) > cm.ring_allreduce_time(n * 2, 8, a, b)
    assert cm.ring_tree_crossover(2, a, b) == 0  # one ring step each way: the tree never wins


# ------------------------------------------------------------------ the fit (synthetic, exact)


def synthetic(cm, algo, alpha, beta, noise=None):
    f = cm.ring_allreduce_time if algo == "ring" else cm.tree_allreduce_time
    out = []
    for i, (p, n) in enumerate((p, n) for p in WORLDS for n in FIT_SIZES):
        t = f(n, p, alpha, beta)
        out.append((p, n, t * (noise[i % len(noise)] if noise else 1.0)))
    return out


@pytest.mark.parametrize("algo", ["ring", "tree"])
def test_fit_recovers_alpha_and_beta(cm, algo):
    alpha, beta = cm.fit_alpha_beta(synthetic(cm, algo, 40e-6, 1.5e9), algo)
    assert alpha == pytest.approx(40e-6, rel=1e-6) and beta == pytest.approx(1.5e9, rel=1e-6)


def test_fit_weights_relative_error(cm):
    """±20 % multiplicative noise: an unweighted fit lets the 16 MB points (tens of ms) swamp α (tens of µs)."""
    noise = [1.2, 0.8, 0.8, 1.2, 1.2, 0.8, 1.2]
    alpha, beta = cm.fit_alpha_beta(synthetic(cm, "ring", 40e-6, 1.5e9, noise), "ring")
    assert alpha == pytest.approx(40e-6, rel=0.3), f"alpha {alpha:.3g} s: is the fit weighted by 1/time?"
    assert beta == pytest.approx(1.5e9, rel=0.2)


def test_fit_rejects_an_unknown_algorithm(cm):
    with pytest.raises(ValueError):
        cm.fit_alpha_beta(synthetic(cm, "ring", 1e-5, 1e9), "butterfly")


# ------------------------------------------------------------------ measured on this machine


def medians(runs, world):
    out = {}
    for n in FIT_SIZES + HELD_OUT_SIZES:
        c = runs.check(world, 0, f"ar_{n}")
        out[n] = statistics.median(c["got"])
    return out


@pytest.mark.parametrize("world", WORLDS)
def test_time_all_reduce_times_the_right_thing(runs, world):
    n = 64 << 10
    per_rank = [runs.check(world, r, f"ar_{n}") for r in range(world)]
    times = per_rank[0]["got"]
    assert len(times) == REPEATS and all(t > 0 for t in times), f"{REPEATS} positive times, got {times}"
    for r in range(1, world):
        assert per_rank[r]["got"] == times, "every rank reports the same times (the slowest rank's, per repeat)"
    sizes = per_rank[0]["sizes"]
    assert sizes.count(n // 4) >= REPEATS, f"the all-reduces timed must hold {n} bytes ({n // 4} float32); saw {sizes}"


def test_model_predicts_held_out_sizes(runs, cm):
    errors, lines = [], []
    for world in WORLDS:
        med = medians(runs, world)
        alpha, beta = cm.fit_alpha_beta([(world, n, med[n]) for n in FIT_SIZES], "ring")
        assert alpha >= 0 and beta > 0 and math.isfinite(beta)
        lines.append(f"world {world}: alpha = {alpha * 1e6:.1f} us, beta = {beta / 1e9:.2f} GB/s")
        for n in HELD_OUT_SIZES:
            pred = cm.ring_allreduce_time(n, world, alpha, beta)
            err = abs(pred - med[n]) / med[n]
            errors.append(err)
            lines.append(f"  {n >> 10:>6} KiB: measured {med[n] * 1e3:8.3f} ms, predicted {pred * 1e3:8.3f} ms, "
                         f"error {err:.0%}")
    report = "\n".join(lines)
    print(report)
    assert statistics.median(errors) <= MAX_MEDIAN_REL_ERROR, (
        f"median held-out error {statistics.median(errors):.0%} > {MAX_MEDIAN_REL_ERROR:.0%}:\n{report}")
