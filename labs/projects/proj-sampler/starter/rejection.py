"""Speculative decoding: the rejection sampler, batched over requests with different draft lengths.

Everything marked TODO is yours. See README.md, stage 3.
"""
from __future__ import annotations

import torch


def recovered_probs(target_probs: torch.Tensor, draft_probs: torch.Tensor | None,
                    draft_token_ids: torch.Tensor) -> torch.Tensor:
    """[N, V]: what to sample after rejecting draft_token_ids[n]: max(0, p - q) normalised per row.
    draft_probs None (n-gram drafts): q is one-hot at the draft token. A row where p - q has no
    positive mass (p == q: a rejection cannot happen there) falls back to p."""
    raise NotImplementedError("TODO (stage 3)")


def rejection_sample(draft_token_ids: list[list[int]], draft_probs: torch.Tensor | None,
                     target_probs: torch.Tensor, generators: list[torch.Generator | None]) -> list[list[int]]:
    """Verify every request's drafts against the target in one batched pass.

    draft_token_ids[i]: request i's k_i >= 0 draft tokens. draft_probs [T, V] (T = sum k_i,
    request by request) or None for n-gram drafts. target_probs [T + B, V]: per request k_i + 1
    rows, the target's distribution at each draft position and then at the bonus position.
    Returns per request its accepted drafts followed by one more token: the recovered token
    at the first rejection, or the bonus token when all k_i were accepted.
    Request i draws all its randomness from generators[i] (the default generator when None).
    ValueError for shapes that do not fit and draft ids outside the vocabulary."""
    raise NotImplementedError("TODO (stage 3)")
