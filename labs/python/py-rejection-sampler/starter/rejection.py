"""Speculative decoding verification: greedy and random (rejection sampling), as vLLM 0.33.0's
RejectionSampler does it for one request.

Implement the parts marked TODO. README.md explains each one.
"""
from __future__ import annotations

import torch


def verify_greedy(target_logits: torch.Tensor, draft_tokens: list[int]) -> list[int]:
    """target_logits [k + 1, V]; accept drafts while they equal the target's argmax, then emit the
    target's own choice at the first mismatch, or a bonus token after k accepts."""
    # TODO
    raise NotImplementedError("verify_greedy")


def recovered_distribution(p: torch.Tensor, q: torch.Tensor | None, draft_token: int) -> torch.Tensor:
    """What to sample from after rejecting `draft_token`: max(0, p - q), normalised. Without draft
    probabilities (n-gram drafts) q is one-hot at the draft token."""
    # TODO
    raise NotImplementedError("recovered_distribution")


def verify_random(target_probs: torch.Tensor, draft_probs: torch.Tensor | None, draft_tokens: list[int],
                  generator: torch.Generator) -> list[int]:
    """target_probs [k + 1, V], draft_probs [k, V] or None. Accept draft i with probability
    min(1, p_i(t) / q_i(t)); at the first rejection emit a token from the recovered distribution and
    stop; after k accepts emit a bonus token from p_k. The emitted tokens are distributed exactly as
    if the target model had sampled them one by one."""
    # TODO
    raise NotImplementedError("verify_random")


def acceptance_probability(p: torch.Tensor, q: torch.Tensor) -> float:
    """Probability that one draft token sampled from q is accepted: sum_x min(p(x), q(x))."""
    # TODO
    raise NotImplementedError("acceptance_probability")


def expected_tokens_per_step(alpha: float, k: int) -> float:
    """Tokens emitted per verification step with k drafts, each accepted with probability alpha
    independently: 1 + alpha + ... + alpha^k."""
    # TODO
    raise NotImplementedError("expected_tokens_per_step")
