"""Speculative decoding: the rejection sampler, batched over requests with different draft lengths.

Reference solution. Mirrors vllm/v1/sample/rejection_sampler.py (see README.md, stage 3).
"""
from __future__ import annotations

import torch


def recovered_probs(target_probs: torch.Tensor, draft_probs: torch.Tensor | None,
                    draft_token_ids: torch.Tensor) -> torch.Tensor:
    """[N, V]: what to sample after rejecting draft_token_ids[n]: max(0, p - q) normalised per row.
    draft_probs None (n-gram drafts): q is one-hot at the draft token. A row where p - q has no
    positive mass (p == q: a rejection cannot happen there) falls back to p."""
    p = target_probs.double()
    if draft_probs is None:
        q = torch.zeros_like(p).scatter_(1, draft_token_ids.long().unsqueeze(1), 1.0)
    else:
        q = draft_probs.double()
    residual = (p - q).clamp_min(0.0)
    total = residual.sum(dim=-1, keepdim=True)
    return torch.where(total > 0, residual / total.clamp_min(1e-300), p)


def _exponential(shape: tuple[int, ...], rows: list[slice], generators: list[torch.Generator | None]) -> torch.Tensor:
    """Exp(1) noise; rows[i] of it drawn from generators[i] (default generator when None)."""
    out = torch.empty(shape, dtype=torch.float64)
    if any(g is None for g in generators):
        out.exponential_()
    for sl, g in zip(rows, generators, strict=True):
        if g is not None and sl.stop > sl.start:
            out[sl].exponential_(generator=g)
    return out.clamp_min(1e-300)


def rejection_sample(draft_token_ids: list[list[int]], draft_probs: torch.Tensor | None,
                     target_probs: torch.Tensor, generators: list[torch.Generator | None]) -> list[list[int]]:
    """Verify every request's drafts against the target in one batched pass.

    draft_token_ids[i]: request i's k_i >= 0 draft tokens. draft_probs [T, V] (T = sum k_i,
    request by request) or None for n-gram drafts. target_probs [T + B, V]: per request k_i + 1
    rows, the target's distribution at each draft position and then at the bonus position.
    Returns per request its accepted drafts followed by one more token: the recovered token
    at the first rejection, or the bonus token when all k_i were accepted."""
    ks = [len(d) for d in draft_token_ids]
    batch, total = len(ks), sum(ks)
    vocab = target_probs.shape[1]
    if target_probs.ndim != 2 or target_probs.shape[0] != total + batch:
        raise ValueError(f"target_probs has {target_probs.shape[0]} rows; {total} drafts + {batch} bonus rows expected")
    if draft_probs is not None and tuple(draft_probs.shape) != (total, vocab):
        raise ValueError(f"draft_probs is {tuple(draft_probs.shape)}; ({total}, {vocab}) expected")
    if len(generators) != batch:
        raise ValueError(f"{len(generators)} generators for {batch} requests")
    drafts = torch.tensor([t for d in draft_token_ids for t in d], dtype=torch.long)
    if total and (drafts.min() < 0 or drafts.max() >= vocab):
        raise ValueError("a draft token id is outside the vocabulary")

    # target rows: request i's drafts at starts[i] .. starts[i] + k_i - 1, its bonus row right after
    starts, d_starts, row, d_row = [], [], 0, 0
    for k in ks:
        starts.append(row)
        d_starts.append(d_row)
        row += k + 1
        d_row += k
    draft_rows = torch.tensor([s + j for s, k in zip(starts, ks, strict=True) for j in range(k)], dtype=torch.long)
    bonus_rows = torch.tensor([s + k for s, k in zip(starts, ks, strict=True)], dtype=torch.long)
    p_draft = target_probs[draft_rows].double()  # [T, V]

    # noise: per request k_i uniforms, then k_i x V and V exponentials, all from its own generator
    d_slices = [slice(d, d + k) for d, k in zip(d_starts, ks, strict=True)]
    uniforms = torch.empty(total, dtype=torch.float64)
    if any(g is None for g in generators):
        uniforms.uniform_()
    for sl, g in zip(d_slices, generators, strict=True):
        if g is not None and sl.stop > sl.start:
            uniforms[sl].uniform_(generator=g)
    rec_noise = _exponential((total, vocab), d_slices, generators)
    bonus_noise = _exponential((batch, vocab), [slice(i, i + 1) for i in range(batch)], generators)

    # accept draft t with probability min(1, p(t) / q(t)); q(t) = 0 never accepts
    p_tok = p_draft.gather(1, drafts.unsqueeze(1)).squeeze(1) if total else torch.zeros(0, dtype=torch.float64)
    if draft_probs is None:
        q_tok = torch.ones_like(p_tok)
    else:
        q_tok = draft_probs.double().gather(1, drafts.unsqueeze(1)).squeeze(1) if total else torch.zeros_like(p_tok)
    accepted = (q_tok > 0) & (p_tok / q_tok.clamp_min(1e-300) >= uniforms)

    recovered = (recovered_probs(p_draft, draft_probs, drafts) / rec_noise).argmax(dim=-1)
    bonus = (target_probs[bonus_rows].double() / bonus_noise).argmax(dim=-1)

    acc, rec, drafts_l, bon = accepted.tolist(), recovered.tolist(), drafts.tolist(), bonus.tolist()
    out = []
    for i, (d, k) in enumerate(zip(d_starts, ks, strict=True)):
        tokens = []
        for j in range(k):
            if not acc[d + j]:
                tokens.append(rec[d + j])  # the first rejection ends the request's tokens
                break
            tokens.append(drafts_l[d + j])
        else:
            tokens.append(bon[i])  # every draft accepted: the bonus token
        out.append(tokens)
    return out
