"""Tests for py-rejection-sampler: greedy verification exactly; random verification statistically
(chi-square against the target distribution, fixed seeds, so the verdict never flickers)."""
import pytest
import torch

from tui.core.labs.testing import load_lab_module

V = 6
# Target and draft disagree: the draft over-proposes tokens 0-1 and never proposes token 5.
P = torch.tensor([[0.05, 0.10, 0.30, 0.25, 0.20, 0.10],
                  [0.40, 0.05, 0.05, 0.20, 0.10, 0.20],
                  [0.10, 0.10, 0.10, 0.10, 0.10, 0.50]], dtype=torch.float64)
Q = torch.tensor([[0.40, 0.30, 0.10, 0.10, 0.10, 0.00],
                  [0.05, 0.45, 0.20, 0.10, 0.20, 0.00]], dtype=torch.float64)
TRIALS = 4_000
CHI2_999 = {5: 20.52}  # chi-square critical value, 5 degrees of freedom, p = 0.001


@pytest.fixture
def rs(lab_dir):
    return load_lab_module(lab_dir, "rejection.py")


def chi2(counts: torch.Tensor, probs: torch.Tensor) -> float:
    n = counts.sum()
    expected = probs * n
    mask = expected > 0
    assert counts[~mask].sum() == 0, f"tokens the target gives probability 0 were emitted: {counts.tolist()}"
    return float(((counts[mask] - expected[mask]) ** 2 / expected[mask]).sum())


_RUNS: dict = {}


def simulate(rs, draft_probs, seed=1234):
    """Emitted tokens per position over TRIALS verification steps with 2 drafts sampled from Q
    (computed once per module under test: two tests read it)."""
    key = (rs.__file__, seed)
    if key not in _RUNS:
        _RUNS[key] = _simulate(rs, draft_probs, seed)
    return _RUNS[key]


def _simulate(rs, draft_probs, seed):
    g_draft = torch.Generator().manual_seed(seed)
    g_verify = torch.Generator().manual_seed(seed + 1)
    counts = torch.zeros(3, V, dtype=torch.float64)
    lengths = torch.zeros(4)
    for _ in range(TRIALS):
        drafts = [int(torch.multinomial(Q[i], 1, generator=g_draft)) for i in range(2)]
        out = rs.verify_random(P, draft_probs, drafts, g_verify)
        assert 1 <= len(out) <= 3, f"emitted {len(out)} tokens for 2 drafts"
        lengths[len(out)] += 1
        for pos, token in enumerate(out):
            counts[pos, token] += 1
    return counts, lengths


def test_greedy_accepts_the_matching_prefix(rs):
    logits = torch.tensor([[0.1, 2.0, 0.0], [3.0, 0.0, 0.0], [0.0, 0.0, 5.0]])
    assert rs.verify_greedy(logits, [1, 0]) == [1, 0, 2]  # both accepted, plus the bonus token
    assert rs.verify_greedy(logits, [1, 2]) == [1, 0]  # second rejected: the target's choice replaces it
    assert rs.verify_greedy(logits, [0, 0]) == [1]  # first rejected: nothing after it counts
    assert rs.verify_greedy(logits[:1], []) == [1]  # no drafts: a normal decode step


def test_emitted_tokens_follow_the_target_distribution(rs):
    counts, lengths = simulate(rs, Q)
    for pos in range(3):
        stat = chi2(counts[pos], P[pos])
        assert stat < CHI2_999[5], (
            f"position {pos}: emitted {counts[pos].int().tolist()} over {int(counts[pos].sum())} steps is not "
            f"distributed as the target {P[pos].tolist()} (chi-square {stat:.1f} >= {CHI2_999[5]})")


def test_acceptance_matches_the_overlap_of_p_and_q(rs):
    counts, lengths = simulate(rs, Q)
    alpha0 = rs.acceptance_probability(P[0], Q[0])
    assert alpha0 == pytest.approx(0.05 + 0.10 + 0.10 + 0.10 + 0.10 + 0.0)
    reached_second = (lengths[2] + lengths[3]) / TRIALS  # the first draft was accepted
    sd = (alpha0 * (1 - alpha0) / TRIALS) ** 0.5
    assert abs(reached_second - alpha0) < 4 * sd, f"first draft accepted {reached_second:.3f}, expected {alpha0:.3f}"


def test_ngram_drafts_without_probabilities(rs):
    """n-gram drafts carry no q: treat q as one-hot at the draft token. A fixed draft must then
    still leave the target distribution intact."""
    g = torch.Generator().manual_seed(7)
    counts = torch.zeros(V, dtype=torch.float64)
    for _ in range(TRIALS):
        out = rs.verify_random(P[:2], None, [0], g)  # always propose token 0
        counts[out[0]] += 1
    stat = chi2(counts, P[0])
    assert stat < CHI2_999[5], f"n-gram verification skews the target: chi-square {stat:.1f}"


def test_draft_equal_to_target_is_always_accepted(rs):
    g = torch.Generator().manual_seed(3)
    for _ in range(200):
        out = rs.verify_random(P, P[:2].clone(), [2, 0], g)
        assert out[:2] == [2, 0] and len(out) == 3


def test_a_token_the_draft_cannot_propose_is_rejected(rs):
    g = torch.Generator().manual_seed(5)
    q = torch.tensor([0.5, 0.5, 0, 0, 0, 0], dtype=torch.float64)
    p = torch.tensor([[0, 0, 0.5, 0.5, 0, 0], [1 / 6] * 6], dtype=torch.float64)
    for _ in range(50):
        out = rs.verify_random(p, q.unsqueeze(0), [0], g)
        assert len(out) == 1 and out[0] in (2, 3), f"target gives token 0 probability 0; got {out}"


def test_recovered_distribution(rs):
    r = rs.recovered_distribution(P[0], Q[0], 0)
    want = (P[0] - Q[0]).clamp_min(0)
    assert torch.allclose(r, want / want.sum())
    r = rs.recovered_distribution(P[0], None, 2)
    want = P[0].clone()
    want[2] = 0
    assert torch.allclose(r, want / want.sum())


def test_expected_tokens_per_step(rs):
    assert rs.expected_tokens_per_step(0.8, 4) == pytest.approx((1 - 0.8 ** 5) / 0.2)  # 3.36
    assert rs.expected_tokens_per_step(1.0, 3) == 4.0
    assert rs.expected_tokens_per_step(0.0, 5) == 1.0
    with pytest.raises(ValueError):
        rs.expected_tokens_per_step(1.2, 2)
