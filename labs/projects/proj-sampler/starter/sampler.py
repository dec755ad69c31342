"""A batched sampler: logits processors with per-request parameters, seeded per request.

Everything marked TODO is yours; README.md describes each stage and the tests it must pass.
The pipeline order is vLLM 0.33.0's (vllm/v1/sample/sampler.py::Sampler):
mask (stage 2) -> logit bias -> penalties -> [greedy argmax] -> temperature -> min-p
-> top-k -> top-p -> softmax -> random draw with per-row generators.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

SAMPLING_EPS = 1e-5  # temperature below this is greedy (vLLM's _SAMPLING_EPS)
NEG_INF = float("-inf")


@dataclass
class SamplingParams:
    temperature: float = 1.0  # < SAMPLING_EPS: greedy
    top_k: int = 0  # 0 or -1: off; >= vocab: off
    top_p: float = 1.0  # 1.0: off
    min_p: float = 0.0  # 0.0: off
    repetition_penalty: float = 1.0  # over prompt + output tokens
    frequency_penalty: float = 0.0  # times the count in the output
    presence_penalty: float = 0.0  # once per distinct output token
    logit_bias: dict[int, float] | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        # TODO (stage 1): raise ValueError for temperature < 0 (or not finite), top_p outside
        # (0, 1], min_p outside [0, 1], top_k < -1, repetition_penalty <= 0.
        pass

    @property
    def greedy(self) -> bool:
        return self.temperature < SAMPLING_EPS


@dataclass
class Sequence:
    """One row of the batch: a request's parameters, its tokens so far and its generator."""
    params: SamplingParams
    prompt_token_ids: list[int]
    output_token_ids: list[int] = field(default_factory=list)
    grammar: object | None = None  # stage 2: anything with allowed_tokens() -> BoolTensor[V]
    generator: torch.Generator | None = None

    def __post_init__(self) -> None:
        if self.generator is None and self.params.seed is not None:
            self.generator = torch.Generator().manual_seed(self.params.seed)


# ------------------------------------------------------------------ stage 1: the processors
# Each takes and returns a float32 [B, V] tensor (it may work in place) with one parameter per row.

def apply_logit_bias(logits: torch.Tensor, biases: list[dict[int, float] | None]) -> torch.Tensor:
    """logits[i, t] += biases[i][t] for every (token, bias) a row asks for."""
    raise NotImplementedError("TODO (stage 1)")


def apply_penalties(logits: torch.Tensor, prompt_token_ids: list[list[int]], output_token_ids: list[list[int]],
                    repetition: torch.Tensor, frequency: torch.Tensor, presence: torch.Tensor) -> torch.Tensor:
    """vLLM's definitions: repetition over prompt + output (divide positive logits, multiply the
    others), then frequency (times the output count) and presence (once per output token)."""
    raise NotImplementedError("TODO (stage 1)")


def apply_temperature(logits: torch.Tensor, temperature: torch.Tensor) -> torch.Tensor:
    """Divide each row by its temperature; greedy rows (temperature < SAMPLING_EPS) by 1."""
    raise NotImplementedError("TODO (stage 1)")


def apply_min_p(logits: torch.Tensor, min_p: torch.Tensor) -> torch.Tensor:
    """Mask tokens whose probability is below min_p times the row's largest probability."""
    raise NotImplementedError("TODO (stage 1)")


def apply_top_k_top_p(logits: torch.Tensor, k: torch.Tensor | None, p: torch.Tensor | None) -> torch.Tensor:
    """Keep each row's top k tokens, then its top-p nucleus; the rest become -inf.

    k[B]: 0, -1 or >= V = off. p[B]: 1.0 = off. Both keep every token tied with the last
    one kept, so the result depends on the values only, never on sort order."""
    raise NotImplementedError("TODO (stage 1)")


def apply_token_mask(logits: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
    """Stage 2: logits where allowed[B, V] is False become -inf."""
    raise NotImplementedError("TODO (stage 2)")


def random_sample(probs: torch.Tensor, generators: list[torch.Generator | None]) -> torch.Tensor:
    """One token per row drawn from probs[B, V]. Row i draws its noise from generators[i]
    alone (torch's default generator when None), so its token does not depend on the batch."""
    raise NotImplementedError("TODO (stage 1)")


# ------------------------------------------------------------------ the pipeline

def compute_probs(logits: torch.Tensor, batch: list[Sequence]) -> torch.Tensor:
    """The distribution each row samples from, [B, V] float32: one-hot at the argmax for
    greedy rows; otherwise softmax after temperature, min-p, top-k and top-p.
    Raise ValueError naming the rows where every token is -inf after mask, bias and penalties,
    and when logits.shape[0] != len(batch). Stage 2: rows with a grammar are masked first."""
    raise NotImplementedError("TODO (stage 1)")


def sample(logits: torch.Tensor, batch: list[Sequence]) -> torch.Tensor:
    """One token id per row (int64 [B]); greedy rows take the argmax (lowest id on ties)."""
    raise NotImplementedError("TODO (stage 1)")
