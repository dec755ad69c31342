"""Shared helpers: a float64 reference of the sampling pipeline, written independently of any
solution (plain loops, one row at a time), and a chi-square goodness-of-fit test.

Statistical tests use fixed seeds, so their verdict never flickers; each compares counts with
the exact target distribution at significance level ALPHA = 0.001 (a correct sampler fails one
such test on 1 seed in 1000; the seeds here were checked against the reference solution)."""
from __future__ import annotations

import math

import pytest
import torch

ALPHA = 0.001
# chi-square critical values at ALPHA = 0.001 by degrees of freedom
CHI2_CRIT = {1: 10.828, 2: 13.816, 3: 16.266, 4: 18.467, 5: 20.515, 6: 22.458, 7: 24.322, 8: 26.124,
             9: 27.877, 10: 29.588, 11: 31.264, 12: 32.909, 13: 34.528, 14: 36.123, 15: 37.697,
             16: 39.252, 17: 40.790, 18: 42.312, 19: 43.820, 20: 45.315, 25: 52.620, 30: 59.703}
EPS = 1e-5
INF = float("inf")

torch.set_num_threads(1)


def chi_square(counts, probs, label: str = "") -> None:
    """Fail unless `counts` (observed tokens) fit `probs` (exact distribution) at ALPHA.

    Tokens with probability 0 must never appear; bins expected below 5 are pooled."""
    counts = torch.as_tensor(counts, dtype=torch.float64).flatten()
    probs = torch.as_tensor(probs, dtype=torch.float64).flatten()
    n = float(counts.sum())
    assert n > 0, f"{label}: no samples"
    impossible = (probs <= 0) & (counts > 0)
    assert not impossible.any(), (
        f"{label}: tokens {impossible.nonzero().flatten().tolist()} have probability 0 but were sampled "
        f"{counts[impossible].int().tolist()} times")
    expected = probs * n
    big = expected >= 5
    obs = counts[big].tolist()
    exp = expected[big].tolist()
    rest_e, rest_o = float(expected[~big].sum()), float(counts[~big].sum())
    if rest_e > 0:
        obs.append(rest_o)
        exp.append(rest_e)
    df = len(obs) - 1
    if df < 1:
        return
    stat = sum((o - e) ** 2 / e for o, e in zip(obs, exp, strict=True))
    crit = CHI2_CRIT.get(df) or CHI2_CRIT[min(k for k in CHI2_CRIT if k >= df)]
    assert stat < crit, (
        f"{label}: sampled counts do not follow the target distribution: chi-square {stat:.1f} >= {crit} "
        f"({df} degrees of freedom, alpha {ALPHA}); observed {[int(c) for c in counts.tolist()]}, "
        f"expected {[round(e, 1) for e in expected.tolist()]}")


# ------------------------------------------------------------------ the reference pipeline (float64)

def reference_row(logits, prompt, output, *, temperature=1.0, top_k=0, top_p=1.0, min_p=0.0,
                  repetition_penalty=1.0, frequency_penalty=0.0, presence_penalty=0.0, logit_bias=None,
                  allowed=None, margin=1e-4):
    """(probabilities, fragile) for one row. `fragile` is True when a top-p or min-p decision
    is within `margin` of its threshold, where float32 and float64 may disagree."""
    x = [float(v) for v in logits]
    V = len(x)
    if allowed is not None:
        x = [v if allowed[i] else -INF for i, v in enumerate(x)]
    for t, b in (logit_bias or {}).items():
        x[t] += b
    seen = set(prompt) | set(output)
    for t in range(V):
        if t in seen:
            x[t] = x[t] / repetition_penalty if x[t] > 0 else x[t] * repetition_penalty
        c = output.count(t)
        x[t] -= frequency_penalty * c
        if c:
            x[t] -= presence_penalty
    if temperature < EPS:
        best = max(range(V), key=lambda i: (x[i], -i))
        return [1.0 if i == best else 0.0 for i in range(V)], False
    x = [v / temperature for v in x]
    fragile = False

    def softmax(v):
        m = max(v)
        e = [math.exp(a - m) if a > -INF else 0.0 for a in v]
        s = sum(e)
        return [a / s for a in e]

    if min_p > 0:
        p = softmax(x)
        thr = max(p) * min_p
        fragile |= any(0 < abs(a - thr) < margin * max(p) for a in p)
        x = [v if p[i] >= thr else -INF for i, v in enumerate(x)]
    if 0 < top_k < V:
        kth = sorted(x, reverse=True)[top_k - 1]
        x = [v if v >= kth else -INF for v in x]
    if top_p < 1.0:
        p = softmax(x)
        order = sorted(range(V), key=lambda i: -p[i])
        before, keep_min = 0.0, None
        for i in order:
            if before < top_p:
                keep_min = p[i]
                fragile |= abs(before - top_p) < margin
            else:
                fragile |= abs(before - top_p) < margin and p[i] > 0
                break
            before += p[i]
        x = [v if p[i] >= keep_min else -INF for i, v in enumerate(x)]
    return softmax(x), fragile


@pytest.fixture(scope="session")
def chi2():
    return chi_square
