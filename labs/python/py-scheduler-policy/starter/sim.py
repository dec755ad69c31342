"""A small continuous-batching engine simulator (given, do not edit).

It mirrors the shape of vLLM 0.33.0's `Scheduler.schedule` (vllm/v1/core/sched/scheduler.py):
running requests first, then waiting ones, a token budget per step, whole-prompt admission
checks, recompute preemption when KV blocks run out. What it leaves to policy.py is exactly
what `SchedulingPolicy` changes in vLLM: the waiting queue's order and the preemption victim.
Time is counted in steps; `StepCost` turns a step's token count into seconds.
"""
from __future__ import annotations

from dataclasses import dataclass, field


def cdiv(a: int, b: int) -> int:
    return -(-a // b)


@dataclass(eq=False)
class Request:
    request_id: str
    prompt_len: int
    max_tokens: int
    arrival_time: float  # seconds; requests arrive at the first step that starts at or after it
    priority: int = 0  # smaller value = more important, as in vLLM
    num_computed_tokens: int = 0
    output_len: int = 0
    first_token_time: float | None = None
    finish_time: float | None = None
    num_preemptions: int = 0
    blocks: int = 0

    @property
    def num_tokens(self) -> int:
        return self.prompt_len + self.output_len

    @property
    def finished(self) -> bool:
        return self.finish_time is not None

    @property
    def ttft(self) -> float | None:
        return None if self.first_token_time is None else self.first_token_time - self.arrival_time


@dataclass
class StepCost:
    """Seconds per step: a fixed launch/CPU part plus a part per scheduled token (a decode-heavy
    step is memory-bound and cheap per token, a prefill chunk compute-bound)."""
    fixed_s: float = 0.010
    per_token_s: float = 0.00005

    def seconds(self, tokens: int) -> float:
        return self.fixed_s + self.per_token_s * tokens


@dataclass
class Engine:
    policy: object  # policy.make_queue() / policy.pick_victim(running)
    num_blocks: int
    block_size: int = 16
    token_budget: int = 512
    max_num_seqs: int = 64
    cost: StepCost = field(default_factory=StepCost)
    now: float = 0.0
    steps: int = 0

    def __post_init__(self):
        self.free_blocks = self.num_blocks
        self.waiting = self.policy.make_queue()
        self.running: list[Request] = []
        self.finished: list[Request] = []
        self.preemptions: list[str] = []

    # -- KV blocks ----------------------------------------------------------------------
    def _grow(self, req: Request, tokens: int) -> bool:
        need = cdiv(req.num_computed_tokens + tokens, self.block_size) - req.blocks
        if need > self.free_blocks:
            return False
        self.free_blocks -= max(need, 0)
        req.blocks += max(need, 0)
        return True

    def _free(self, req: Request) -> None:
        self.free_blocks += req.blocks
        req.blocks = 0

    def _preempt(self, victim: Request) -> None:
        self._free(victim)
        victim.num_computed_tokens = 0  # recompute: the prompt and the tokens generated so far
        victim.num_preemptions += 1
        self.preemptions.append(victim.request_id)
        self.waiting.prepend(victim)

    # -- one step -----------------------------------------------------------------------
    def step(self) -> dict[str, int]:
        budget, scheduled, preempted = self.token_budget, {}, False
        i = 0
        while i < len(self.running) and budget > 0:
            req = self.running[i]
            n = min(req.num_tokens - req.num_computed_tokens, budget)
            while not self._grow(req, n):
                victim = self.policy.pick_victim(self.running)
                index = self.running.index(victim)
                del self.running[index]
                if victim.request_id in scheduled:  # already served this step: give its tokens back
                    budget += scheduled.pop(victim.request_id)
                if index < i:
                    i -= 1
                self._preempt(victim)
                preempted = True
                if victim is req:
                    break
            else:
                scheduled[req.request_id] = n
                budget -= n
                i += 1
        if not preempted:
            while budget > 0 and len(self.waiting) and len(self.running) < self.max_num_seqs:
                req = self.waiting.peek()
                whole = cdiv(req.num_tokens, self.block_size)  # admission check for the whole sequence
                n = min(req.num_tokens - req.num_computed_tokens, budget)
                if whole > self.free_blocks or not self._grow(req, n):
                    break
                self.waiting.pop()
                self.running.append(req)
                scheduled[req.request_id] = n
                budget -= n
        self._finish_step(scheduled)
        return scheduled

    def _finish_step(self, scheduled: dict[str, int]) -> None:
        tokens = sum(scheduled.values())
        self.now += self.cost.seconds(tokens) if tokens else self.cost.fixed_s
        self.steps += 1
        done = []
        for req in self.running:
            n = scheduled.get(req.request_id)
            if not n:
                continue
            req.num_computed_tokens += n
            if req.num_computed_tokens == req.num_tokens:  # the last input token ran: sample one
                req.output_len += 1
                if req.first_token_time is None:
                    req.first_token_time = self.now
                if req.output_len >= req.max_tokens:
                    req.finish_time = self.now
                    done.append(req)
        for req in done:
            self.running.remove(req)
            self._free(req)
            self.finished.append(req)


def run(policy, requests: list[Request], *, num_blocks: int, block_size: int = 16, token_budget: int = 512,
        max_num_seqs: int = 64, cost: StepCost | None = None, max_steps: int = 100_000) -> Engine:
    """Feed `requests` in at their arrival times and step until all finish."""
    engine = Engine(policy, num_blocks, block_size, token_budget, max_num_seqs, cost or StepCost())
    pending = sorted(requests, key=lambda r: (r.arrival_time, r.request_id))
    while pending or engine.running or len(engine.waiting):
        while pending and pending[0].arrival_time <= engine.now:
            engine.waiting.add(pending.pop(0))
        if not engine.running and not len(engine.waiting):
            engine.now = pending[0].arrival_time  # idle until the next arrival
            continue
        engine.step()
        if engine.steps > max_steps:
            raise RuntimeError(f"no progress after {max_steps} steps (a request that can never fit?)")
    return engine
