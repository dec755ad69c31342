"""A deterministic engine simulator with a step-time model. Given: do not edit.

It stands in for vLLM's EngineCore: a scheduler that does continuous batching
under a token budget, and a "GPU" whose step takes

    step_time = fixed_s + per_token_s * (tokens scheduled in the step)

(the fixed part is the weights read and the launches every step pays; the
per-token part grows with the batch). Every step, each running sequence gets
one decode token, then waiting prompts are admitted whole (no chunked prefill)
while the token budget and max_num_seqs allow; the step that runs a prompt
samples its first token, as in vLLM. Sequences always produce exactly
max_tokens tokens (vLLM's `ignore_eos`). Token ids are a function of the
prompt length and the position, so every run yields the same text.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass(frozen=True)
class CostModel:
    fixed_s: float = 0.015  # per step, whatever the batch
    per_token_s: float = 0.0001  # per scheduled token (prefill and decode alike)

    def step_time(self, num_tokens: int) -> float:
        return self.fixed_s + self.per_token_s * num_tokens


def token_id(prompt_len: int, index: int) -> int:
    """The index-th generated token of a prompt of prompt_len tokens (deterministic)."""
    return (prompt_len * 7919 + index * 104729) % 50000


@dataclass
class Sequence:
    request_id: str
    prompt_len: int
    max_tokens: int
    num_computed_tokens: int = 0
    output: list[int] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return len(self.output) >= self.max_tokens


@dataclass
class StepPlan:
    scheduled: list[tuple[Sequence, int]]  # (sequence, tokens it runs this step)
    num_tokens: int
    duration_s: float


class Engine:
    def __init__(self, cost: CostModel = CostModel(), max_num_seqs: int = 64, max_num_batched_tokens: int = 8192):
        self.cost, self.max_num_seqs, self.max_num_batched_tokens = cost, max_num_seqs, max_num_batched_tokens
        self.waiting: deque[Sequence] = deque()
        self.running: list[Sequence] = []

    def add(self, request_id: str, prompt_len: int, max_tokens: int) -> None:
        if prompt_len < 1 or max_tokens < 1 or prompt_len > self.max_num_batched_tokens:
            raise ValueError(f"{request_id}: prompt_len {prompt_len}, max_tokens {max_tokens} out of range")
        self.waiting.append(Sequence(request_id, prompt_len, max_tokens))

    def has_work(self) -> bool:
        return bool(self.waiting or self.running)

    def schedule(self) -> StepPlan:
        """Decode every running sequence, then admit waiting prompts while they fit."""
        scheduled = [(seq, 1) for seq in self.running]
        budget = self.max_num_batched_tokens - len(scheduled)
        while self.waiting and len(self.running) < self.max_num_seqs and self.waiting[0].prompt_len <= budget:
            seq = self.waiting.popleft()
            self.running.append(seq)
            scheduled.append((seq, seq.prompt_len))
            budget -= seq.prompt_len
        num_tokens = sum(n for _, n in scheduled)
        return StepPlan(scheduled, num_tokens, self.cost.step_time(num_tokens))

    def finish_step(self, plan: StepPlan) -> list[tuple[str, int, bool]]:
        """Apply a step that has run: every scheduled sequence gains one token.
        Returns (request_id, token, finished) per sequence, in schedule order."""
        out = []
        for seq, n in plan.scheduled:
            seq.num_computed_tokens += n
            seq.output.append(token_id(seq.prompt_len, len(seq.output)))
            out.append((seq.request_id, seq.output[-1], seq.finished))
        self.running = [seq for seq in self.running if not seq.finished]
        return out
