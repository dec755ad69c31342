"""Stage 3: the speculative-decoding rejection sampler, batched over requests with different
draft lengths. Exact checks of the recovered distribution, the layout and the edge cases, then
chi-square tests (alpha 0.001, fixed seeds) that the emitted tokens follow the TARGET
distribution at every position, and batch invariance of seeded requests."""
import pytest
import torch
from conftest import chi_square

from tui.core.labs.testing import load_lab_module

V = 7  # a vocabulary that is a multiple of nothing
# the draft over-proposes tokens 0-1 and never proposes token 6; the target likes 2-6
P = torch.tensor([[0.05, 0.10, 0.30, 0.20, 0.15, 0.10, 0.10],
                  [0.40, 0.05, 0.05, 0.15, 0.10, 0.05, 0.20],
                  [0.10, 0.10, 0.10, 0.10, 0.10, 0.10, 0.40]], dtype=torch.float64)
Q = torch.tensor([[0.35, 0.30, 0.10, 0.10, 0.10, 0.05, 0.00],
                  [0.05, 0.45, 0.20, 0.10, 0.15, 0.05, 0.00]], dtype=torch.float64)


@pytest.fixture
def r(lab_dir):
    return load_lab_module(lab_dir, "rejection.py")


def one_hot(t, v=V):
    x = torch.zeros(v, dtype=torch.float64)
    x[t] = 1.0
    return x


# ------------------------------------------------------------------ exact

def test_recovered_distribution_is_normalised(r):
    got = r.recovered_probs(P[:2], Q, torch.tensor([0, 1]))
    for i in range(2):
        res = (P[i] - Q[i]).clamp_min(0)
        assert got[i].tolist() == pytest.approx((res / res.sum()).tolist(), abs=1e-9)
    assert got.sum(-1).tolist() == pytest.approx([1.0, 1.0])


def test_recovered_without_draft_probabilities(r):
    """n-gram drafts have no q: q is one-hot at the draft token, so the token is removed from p."""
    got = r.recovered_probs(P[:1], None, torch.tensor([2]))
    want = P[0].clone()
    want[2] = 0
    assert got[0].tolist() == pytest.approx((want / want.sum()).tolist(), abs=1e-9)


def test_recovered_when_p_equals_q(r):
    got = r.recovered_probs(P[:1], P[:1].clone(), torch.tensor([3]))
    assert got[0].tolist() == pytest.approx(P[0].tolist()), "no residual mass: fall back to p"


def test_layout_and_draft_lengths(r):
    """Deterministic targets: one-hot rows make every decision certain. Requests have 3, 0, 1, 2
    drafts: target rows are k_i draft rows then one bonus row, request by request."""
    drafts = [[1, 2, 3], [], [4], [5, 6]]
    rows = [one_hot(1), one_hot(2), one_hot(0), one_hot(6),  # req 0: accept 1, 2; reject 3 -> 0
            one_hot(5),  # req 1: bonus only
            one_hot(4), one_hot(3),  # req 2: accept 4, bonus 3
            one_hot(5), one_hot(6), one_hot(2)]  # req 3: accept both, bonus 2
    target = torch.stack(rows)
    q = torch.stack([one_hot(1), one_hot(2), one_hot(3), one_hot(4), one_hot(5), one_hot(6)])
    out = r.rejection_sample(drafts, q, target, [None] * 4)
    assert out == [[1, 2, 0], [5], [4, 3], [5, 6, 2]]
    out = r.rejection_sample(drafts, None, target, [None] * 4)  # n-gram: q = 1 at the draft
    assert out == [[1, 2, 0], [5], [4, 3], [5, 6, 2]]


def test_draft_equal_to_target_is_always_accepted(r):
    torch.manual_seed(0)
    n = 300
    drafts = [[2, 0]] * n
    q = P[:2].repeat(n, 1)
    target = P.repeat(n, 1)
    out = r.rejection_sample(drafts, q, target, [None] * n)
    assert all(len(o) == 3 and o[:2] == [2, 0] for o in out)


def test_zero_draft_probability_is_rejected(r):
    """q(t) = 0 at the proposed token (vLLM rejects rather than divide by zero); the target's
    p(t) = 0 tokens are never emitted."""
    torch.manual_seed(1)
    n = 200
    q = torch.tensor([[0.5, 0.5, 0, 0, 0, 0, 0]], dtype=torch.float64).repeat(n, 1)
    p = torch.cat([torch.tensor([[0, 0, 0.4, 0.4, 0.2, 0, 0]], dtype=torch.float64),
                   torch.full((1, V), 1 / V, dtype=torch.float64)]).repeat(n, 1)
    out = r.rejection_sample([[4]] * n, q, p, [None] * n)
    assert all(len(o) == 1 for o in out), "a draft token with q(t) = 0 must be rejected (one token out, no bonus)"
    assert {o[0] for o in out} <= {2, 3, 4}, "tokens with p = 0 were emitted"
    out = r.rejection_sample([[5]] * n, q, p, [None] * n)
    assert all(len(o) == 1 and o[0] in (2, 3, 4) for o in out), "p(t) = q(t) = 0: rejected, recovered from p - q"


def test_bad_shapes_raise(r):
    with pytest.raises(ValueError):
        r.rejection_sample([[1, 2]], None, P[:2], [None])  # 2 drafts need 3 target rows
    with pytest.raises(ValueError):
        r.rejection_sample([[1]], Q, P[:2], [None])  # 1 draft, 2 draft rows
    with pytest.raises(ValueError):
        r.rejection_sample([[9]], None, P[:2], [None])  # token outside the vocabulary


# ------------------------------------------------------------------ statistics

N = 8000


def run(r, draft_probs, seed, ks=None):
    """N requests with 2 drafts drawn from Q (or an n-gram guess) verified against P; tokens at each position."""
    g = torch.Generator().manual_seed(seed)
    d0 = torch.multinomial(Q[0], N, replacement=True, generator=g)
    d1 = torch.multinomial(Q[1], N, replacement=True, generator=g)
    drafts = torch.stack([d0, d1], 1).tolist()
    torch.manual_seed(seed + 1)
    out = r.rejection_sample(drafts, None if draft_probs is None else draft_probs.repeat(N, 1), P.repeat(N, 1), [None] * N)
    return out


@pytest.fixture(scope="module")
def runs():
    return {}


def emitted(r, runs, mode):
    key = (r.__file__, mode)
    if key not in runs:
        runs[key] = run(r, Q if mode == "draft" else None, 4321 if mode == "draft" else 99)
    return runs[key]


@pytest.mark.parametrize("mode", ["draft", "ngram"])
def test_emitted_tokens_follow_the_target(r, runs, mode):
    out = emitted(r, runs, mode)
    assert all(1 <= len(o) <= 3 for o in out)
    for pos in range(3):
        tokens = torch.tensor([o[pos] for o in out if len(o) > pos])
        assert len(tokens) > 50, f"position {pos}: only {len(tokens)} samples"
        chi_square(torch.bincount(tokens, minlength=V), P[pos], f"{mode} drafts, position {pos}")


def test_acceptance_rate_is_the_overlap(r, runs):
    """P(first draft accepted) = sum_x min(p(x), q(x)) = 0.05+0.10+0.10+0.10+0.10+0.05+0 = 0.50."""
    out = emitted(r, runs, "draft")
    alpha = float(torch.minimum(P[0], Q[0]).sum())
    assert alpha == pytest.approx(0.5)
    got = sum(len(o) >= 2 for o in out) / N
    sd = (alpha * (1 - alpha) / N) ** 0.5
    assert abs(got - alpha) < 4 * sd, f"first draft accepted {got:.3f} of the time; expected {alpha:.3f}"


def test_mixed_draft_lengths_keep_the_target(r):
    """Requests with 0, 1 and 2 drafts interleaved: the first emitted token always follows p_0."""
    g = torch.Generator().manual_seed(5)
    n = 6000
    ks = [i % 3 for i in range(n)]
    pool = [torch.multinomial(Q[j], n, replacement=True, generator=g).tolist() for j in range(2)]
    drafts, qs, ps = [], [], []
    for i, k in enumerate(ks):
        drafts.append([pool[j][i] for j in range(k)])
        qs += [Q[j] for j in range(k)]
        ps += [P[j] for j in range(k)] + [P[k]]
    torch.manual_seed(6)
    out = r.rejection_sample(drafts, torch.stack(qs), torch.stack(ps), [None] * n)
    assert [len(o) <= k + 1 for o, k in zip(out, ks, strict=True)] == [True] * n
    first = torch.tensor([o[0] for o, k in zip(out, ks, strict=True) if k > 0])
    chi_square(torch.bincount(first, minlength=V), P[0], "first token of requests with drafts")
    bonus_only = torch.tensor([o[0] for o, k in zip(out, ks, strict=True) if k == 0])
    chi_square(torch.bincount(bonus_only, minlength=V), P[0], "requests without drafts (bonus row p_0)")


def test_same_seed_same_tokens_whatever_the_batch(r):
    def request(seed):
        return [3, 1, 5], Q[[0, 1, 0]], P[[0, 1, 2, 0]], torch.Generator().manual_seed(seed)

    results = []
    for seed in range(25):
        d, q, p, gen = request(seed)
        alone = r.rejection_sample([d], q, p, [gen])[0]
        d, q, p, gen = request(seed)
        torch.manual_seed(seed)
        batch = r.rejection_sample([[0], [], d, [2, 2]], torch.cat([Q[:1], q, Q[:2]]),
                                   torch.cat([P[:2], P[:1], p, P]), [torch.Generator().manual_seed(7), None, gen, None])
        assert batch[2] == alone, f"seed {seed}: {alone} alone but {batch[2]} in a batch"
        results.append(tuple(alone))
    assert len(set(results)) > 3, "different seeds should give different outcomes"
