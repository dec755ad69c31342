"""A batched sampler: logits processors with per-request parameters, seeded per request.

Reference solution. The order of the pipeline follows vLLM 0.33.0's
vllm/v1/sample/sampler.py::Sampler (see README.md).
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
        if not (0.0 <= self.temperature < float("inf")):
            raise ValueError(f"temperature must be >= 0 and finite, got {self.temperature}")
        if not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if not 0.0 <= self.min_p <= 1.0:
            raise ValueError(f"min_p must be in [0, 1], got {self.min_p}")
        if self.top_k < -1:
            raise ValueError(f"top_k must be -1, 0 (off) or >= 1, got {self.top_k}")
        if not self.repetition_penalty > 0.0:
            raise ValueError(f"repetition_penalty must be > 0, got {self.repetition_penalty}")

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

def apply_logit_bias(logits: torch.Tensor, biases: list[dict[int, float] | None]) -> torch.Tensor:
    """logits[i, t] += biases[i][t] for every (token, bias) a row asks for."""
    rows, cols, vals = [], [], []
    for i, bias in enumerate(biases):
        if bias:
            for token, value in bias.items():
                rows.append(i)
                cols.append(token)
                vals.append(value)
    if rows:
        logits.index_put_((torch.tensor(rows), torch.tensor(cols)),
                          torch.tensor(vals, dtype=logits.dtype), accumulate=True)
    return logits


def _token_counts(token_ids: list[list[int]], vocab: int) -> torch.Tensor:
    """[B, V] counts of each token id per row (padding goes to an extra bin, then is dropped)."""
    width = max((len(t) for t in token_ids), default=0)
    padded = torch.full((len(token_ids), max(width, 1)), vocab, dtype=torch.long)
    for i, t in enumerate(token_ids):
        if t:
            padded[i, : len(t)] = torch.tensor(t, dtype=torch.long)
    counts = torch.zeros(len(token_ids), vocab + 1, dtype=torch.long)
    counts.scatter_add_(1, padded, torch.ones_like(padded))
    return counts[:, :vocab]


def apply_penalties(logits: torch.Tensor, prompt_token_ids: list[list[int]], output_token_ids: list[list[int]],
                    repetition: torch.Tensor, frequency: torch.Tensor, presence: torch.Tensor) -> torch.Tensor:
    """vLLM's definitions: repetition over prompt + output (divide positive logits, multiply the
    others), then frequency (times the output count) and presence (once per output token)."""
    vocab = logits.shape[1]
    output_counts = _token_counts(output_token_ids, vocab)
    output_mask = output_counts > 0
    seen = (_token_counts(prompt_token_ids, vocab) > 0) | output_mask
    penalty = torch.where(seen, repetition.unsqueeze(1).to(logits.dtype), 1.0)
    logits = torch.where(logits > 0, logits / penalty, logits * penalty)
    logits = logits - frequency.unsqueeze(1).to(logits.dtype) * output_counts
    logits = logits - presence.unsqueeze(1).to(logits.dtype) * output_mask
    return logits


def apply_temperature(logits: torch.Tensor, temperature: torch.Tensor) -> torch.Tensor:
    """Divide each row by its temperature; greedy rows (temperature < SAMPLING_EPS) by 1."""
    temperature = torch.where(temperature < SAMPLING_EPS, 1.0, temperature).to(logits.dtype)
    return logits / temperature.unsqueeze(1)


def apply_min_p(logits: torch.Tensor, min_p: torch.Tensor) -> torch.Tensor:
    """Mask tokens whose probability is below min_p times the row's largest probability."""
    probs = logits.softmax(dim=-1)
    threshold = probs.amax(dim=-1, keepdim=True) * min_p.unsqueeze(1).to(probs.dtype)
    return logits.masked_fill(probs < threshold, NEG_INF)


def apply_top_k_top_p(logits: torch.Tensor, k: torch.Tensor | None, p: torch.Tensor | None) -> torch.Tensor:
    """Keep each row's top k tokens, then its top-p nucleus; the rest become -inf.

    k[B]: 0, -1 or >= V = off. p[B]: 1.0 = off. Both keep every token tied with the last
    one kept, so the result depends on the values only, never on sort order."""
    vocab = logits.shape[1]
    if k is not None:
        k = k.long()
        on = (k > 0) & (k < vocab)
        if on.any():
            kth = logits.topk(int(k[on].max()), dim=-1).values  # descending
            cut = kth.gather(1, (k.clamp(1, kth.shape[1]) - 1).unsqueeze(1))
            cut = torch.where(on.unsqueeze(1), cut, NEG_INF)
            logits = logits.masked_fill(logits < cut, NEG_INF)
    if p is not None:
        on = p < 1.0
        if on.any():
            probs = logits.softmax(dim=-1)
            desc = probs.sort(dim=-1, descending=True).values
            before = torch.cat([torch.zeros_like(desc[:, :1]), desc.cumsum(dim=-1)[:, :-1]], dim=1)  # mass ahead
            kept = before < p.unsqueeze(1).to(desc.dtype)  # a prefix; position 0 always kept
            last = kept.sum(dim=-1, keepdim=True) - 1
            cut = desc.gather(1, last)  # the smallest kept probability
            drop = (probs < cut) & on.unsqueeze(1)
            logits = logits.masked_fill(drop, NEG_INF)
    return logits


def apply_token_mask(logits: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
    """Stage 2: logits where allowed[B, V] is False become -inf."""
    return logits.masked_fill(~allowed, NEG_INF)


def random_sample(probs: torch.Tensor, generators: list[torch.Generator | None]) -> torch.Tensor:
    """One token per row drawn from probs[B, V]. Row i draws its noise from generators[i]
    alone (torch's default generator when None), so its token does not depend on the batch."""
    q = torch.empty(probs.shape, dtype=torch.float64)
    if any(g is None for g in generators):
        q.exponential_()
    for i, g in enumerate(generators):
        if g is not None:
            q[i].exponential_(generator=g)
    # exponential race: argmax p_i / E_i with E_i ~ Exp(1) picks i with probability p_i
    return (probs.double() / q.clamp_min(1e-300)).argmax(dim=-1)


# ------------------------------------------------------------------ the pipeline

def _processed(logits: torch.Tensor, batch: list[Sequence]) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits after mask, bias and penalties (what greedy reads), and the greedy tokens."""
    if logits.ndim != 2 or logits.shape[0] != len(batch):
        raise ValueError(f"logits {tuple(logits.shape)} do not match a batch of {len(batch)}")
    logits = logits.to(torch.float32).clone()
    if any(s.grammar is not None for s in batch):
        allowed = torch.ones(logits.shape, dtype=torch.bool)
        for i, s in enumerate(batch):
            if s.grammar is not None:
                allowed[i] = s.grammar.allowed_tokens()
        logits = apply_token_mask(logits, allowed)
    logits = apply_logit_bias(logits, [s.params.logit_bias for s in batch])
    params = [s.params for s in batch]
    if any(p.repetition_penalty != 1.0 or p.frequency_penalty or p.presence_penalty for p in params):
        logits = apply_penalties(logits, [s.prompt_token_ids for s in batch], [s.output_token_ids for s in batch],
                                 torch.tensor([p.repetition_penalty for p in params]),
                                 torch.tensor([p.frequency_penalty for p in params]),
                                 torch.tensor([p.presence_penalty for p in params]))
    bad = ~(logits > NEG_INF).any(dim=-1)  # every token -inf (or NaN)
    if bad.any():
        rows = bad.nonzero().flatten().tolist()
        raise ValueError(f"rows {rows}: every token is masked (-inf), nothing can be sampled")
    return logits, logits.argmax(dim=-1)


def compute_probs(logits: torch.Tensor, batch: list[Sequence]) -> torch.Tensor:
    """The distribution each row samples from, [B, V] float32: one-hot at the argmax for
    greedy rows; otherwise softmax after temperature, min-p, top-k and top-p."""
    logits, greedy = _processed(logits, batch)
    params = [s.params for s in batch]
    logits = apply_temperature(logits, torch.tensor([p.temperature for p in params]))
    if any(p.min_p > 0 for p in params):
        logits = apply_min_p(logits, torch.tensor([p.min_p for p in params]))
    logits = apply_top_k_top_p(logits, torch.tensor([p.top_k for p in params]),
                               torch.tensor([p.top_p for p in params]))
    probs = logits.softmax(dim=-1)
    is_greedy = torch.tensor([p.greedy for p in params])
    one_hot = torch.zeros_like(probs).scatter_(1, greedy.unsqueeze(1), 1.0)
    return torch.where(is_greedy.unsqueeze(1), one_hot, probs)


def sample(logits: torch.Tensor, batch: list[Sequence]) -> torch.Tensor:
    """One token id per row (int64 [B]); greedy rows take the argmax (lowest id on ties)."""
    probs = compute_probs(logits, batch)
    greedy = torch.tensor([s.params.greedy for s in batch])
    if greedy.all():
        return probs.argmax(dim=-1)
    tokens = random_sample(probs, [None if s.params.greedy else s.generator for s in batch])
    return torch.where(greedy, probs.argmax(dim=-1), tokens)
