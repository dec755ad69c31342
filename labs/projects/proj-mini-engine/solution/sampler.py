"""Stage 7: sampling parameters and the sampler.

Mirrors vllm/sampling_params.py::SamplingParams and
vllm/v1/sample/sampler.py::Sampler with
vllm/v1/sample/ops/topk_topp_sampler.py::apply_top_k_top_p_pytorch and
random_sample (the exponential race: argmax(p / q), q ~ Exp(1), drawn from a
per-request generator when the request has a seed).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class SamplingParams:
    temperature: float = 1.0  # 0 = greedy
    top_k: int = 0  # 0 (or -1) = off
    top_p: float = 1.0
    seed: int | None = None
    max_tokens: int = 16
    stop_token_ids: list[int] = field(default_factory=list)
    ignore_eos: bool = False

    def __post_init__(self) -> None:
        if self.temperature < 0 or not 0 < self.top_p <= 1 or self.max_tokens < 1 or self.top_k < -1:
            raise ValueError(f"invalid sampling parameters: {self}")

    @property
    def greedy(self) -> bool:
        return self.temperature < 1e-5


def apply_top_k_top_p(logits: torch.Tensor, k: torch.Tensor | None, p: torch.Tensor | None) -> torch.Tensor:
    """Mask logits[B, V] outside each row's top k and outside its top-p nucleus with -inf.

    k[B] (V = off), p[B] (1.0 = off). The nucleus is the smallest set of the
    most likely tokens whose probability reaches p; the token that crosses p
    is in it, and the most likely token always is."""
    if k is None and p is None:
        return logits
    logits_sort, idx = logits.sort(dim=-1, descending=False)  # ascending, like vLLM
    if k is not None:
        kth = logits_sort.gather(1, (logits_sort.shape[1] - k.long()).clamp(min=0).unsqueeze(1))
        logits_sort = logits_sort.masked_fill(logits_sort < kth, float("-inf"))
    if p is not None:
        cum = logits_sort.softmax(dim=-1).cumsum(dim=-1)
        mask = cum <= 1 - p.unsqueeze(1)  # mass strictly below the nucleus
        mask[:, -1] = False
        logits_sort = logits_sort.masked_fill(mask, float("-inf"))
    return torch.empty_like(logits).scatter_(1, idx, logits_sort)


class Sampler:
    def __call__(self, logits: torch.Tensor, requests: list) -> list[int]:
        """logits[B, V] (float32), one row per request that samples this step; returns one token each."""
        params = [r.params for r in requests]
        greedy = logits.argmax(dim=-1)
        if all(p.greedy for p in params):
            return greedy.tolist()
        temp = torch.tensor([1.0 if p.greedy else p.temperature for p in params], device=logits.device)
        logits = logits / temp.unsqueeze(1)
        vocab = logits.shape[1]
        k = torch.tensor([p.top_k if 0 < p.top_k < vocab else vocab for p in params], device=logits.device)
        top_p = torch.tensor([p.top_p for p in params], device=logits.device)
        logits = apply_top_k_top_p(logits, k if (k < vocab).any() else None, top_p if (top_p < 1).any() else None)
        probs = logits.softmax(dim=-1)
        # exponential race: argmax p_i / q_i with q_i ~ Exp(1) picks i with probability p_i
        q = torch.empty(probs.shape)  # drawn on the CPU, where the per-request generators live
        for i, r in enumerate(requests):
            q[i].exponential_(generator=r.generator)
        sampled = (probs / q.to(probs.device)).argmax(dim=-1)
        return [int(greedy[i]) if p.greedy else int(sampled[i]) for i, p in enumerate(params)]
