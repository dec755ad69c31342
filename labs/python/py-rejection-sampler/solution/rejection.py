"""Speculative decoding verification: greedy and random (rejection sampling), as vLLM 0.33.0's
RejectionSampler does it for one request.

Reference solution. See README.md.
"""
from __future__ import annotations

import torch


def verify_greedy(target_logits: torch.Tensor, draft_tokens: list[int]) -> list[int]:
    """target_logits [k + 1, V]; accept drafts while they equal the target's argmax, then emit the
    target's own choice at the first mismatch, or a bonus token after k accepts."""
    best = target_logits.argmax(dim=-1).tolist()
    out = []
    for i, token in enumerate(draft_tokens):
        out.append(best[i])
        if token != best[i]:
            return out
    out.append(best[len(draft_tokens)])
    return out


def recovered_distribution(p: torch.Tensor, q: torch.Tensor | None, draft_token: int) -> torch.Tensor:
    """What to sample from after rejecting `draft_token`: max(0, p - q), normalised. Without draft
    probabilities (n-gram drafts) q is one-hot at the draft token."""
    if q is None:
        q = torch.zeros_like(p)
        q[draft_token] = 1.0
    residual = (p - q).clamp_min(0)
    total = residual.sum()
    if total <= 0:  # p == q: a rejection cannot happen, fall back to p
        return p / p.sum()
    return residual / total


def verify_random(target_probs: torch.Tensor, draft_probs: torch.Tensor | None, draft_tokens: list[int],
                  generator: torch.Generator) -> list[int]:
    """target_probs [k + 1, V], draft_probs [k, V] or None. Accept draft i with probability
    min(1, p_i(t) / q_i(t)); at the first rejection emit a token from the recovered distribution and
    stop; after k accepts emit a bonus token from p_k. The emitted tokens are distributed exactly as
    if the target model had sampled them one by one."""
    k = len(draft_tokens)
    uniforms = torch.rand(k, dtype=torch.float64, generator=generator)
    out = []
    for i, token in enumerate(draft_tokens):
        p, q = target_probs[i], None if draft_probs is None else draft_probs[i]
        q_token = 1.0 if q is None else float(q[token])
        if q_token > 0 and float(p[token]) / q_token >= float(uniforms[i]):
            out.append(token)
            continue
        recovered = recovered_distribution(p, q, token)
        out.append(int(torch.multinomial(recovered, 1, generator=generator)))
        return out
    out.append(int(torch.multinomial(target_probs[k], 1, generator=generator)))
    return out


def acceptance_probability(p: torch.Tensor, q: torch.Tensor) -> float:
    """Probability that one draft token sampled from q is accepted: sum_x min(p(x), q(x))."""
    return float(torch.minimum(p, q).sum())


def expected_tokens_per_step(alpha: float, k: int) -> float:
    """Tokens emitted per verification step with k drafts, each accepted with probability alpha
    independently: 1 + alpha + ... + alpha^k."""
    if not 0 <= alpha <= 1 or k < 0:
        raise ValueError("alpha must be in [0, 1] and k >= 0")
    if alpha == 1:
        return float(k + 1)
    return (1 - alpha ** (k + 1)) / (1 - alpha)
