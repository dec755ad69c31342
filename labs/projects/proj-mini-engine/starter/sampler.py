"""Starter (fill in every NotImplementedError). Stage 7: sampling parameters and the sampler.

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
    raise NotImplementedError("stage 7: mask logits outside top-k and the top-p nucleus")


class Sampler:
    def __call__(self, logits: torch.Tensor, requests: list) -> list[int]:
        """logits[B, V] (float32), one row per request that samples this step; returns one token each."""
        params = [r.params for r in requests]
        greedy = logits.argmax(dim=-1)
        if all(p.greedy for p in params):
            return greedy.tolist()
        raise NotImplementedError("stage 7: temperature, top-k/top-p, per-request generators")
