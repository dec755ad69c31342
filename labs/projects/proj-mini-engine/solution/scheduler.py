"""Stages 3, 4 and 6: the token-budget scheduler.

Mirrors vllm/v1/core/sched/scheduler.py::Scheduler: schedule() serves the
running queue first (decodes and unfinished prefill chunks), then admits
waiting requests in FCFS order while the token budget
(max_num_batched_tokens), the sequence cap (max_num_seqs) and the KV cache
allow; when a running request cannot get a block, the last running request
is preempted by recompute (Scheduler._preempt_request).
update_from_output() appends sampled tokens, checks stops and frees finished
requests (Scheduler.update_from_output).

One simplification: vLLM advances num_computed_tokens inside schedule()
(Scheduler._update_after_schedule) so that the next step can be scheduled
while this one runs; here the step is synchronous and update_from_output()
advances it.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from kv_cache_manager import KVCacheManager
from model_runner import SchedulerOutput
from request import Request, RequestStatus


@dataclass
class SchedulerConfig:
    max_num_batched_tokens: int = 2048
    max_num_seqs: int = 64
    enable_chunked_prefill: bool = True


class Scheduler:
    def __init__(self, config: SchedulerConfig, kv_cache_manager: KVCacheManager) -> None:
        self.config = config
        self.kv = kv_cache_manager
        self.waiting: deque[Request] = deque()
        self.running: list[Request] = []
        self.num_preemptions = 0
        self.preempted_log: list[str] = []  # request ids in the order they were preempted

    def add_request(self, request: Request) -> None:
        if not self.config.enable_chunked_prefill and \
                len(request.prompt_token_ids) + request.params.max_tokens > self.config.max_num_batched_tokens:
            # without chunking a (re)computed prefill must fit in one step
            raise ValueError("prompt + max_tokens exceeds max_num_batched_tokens and chunked prefill is off")
        self.waiting.append(request)

    def has_unfinished_requests(self) -> bool:
        return bool(self.waiting or self.running)

    def schedule(self) -> SchedulerOutput:
        """Pick this step's work: (request, number of new tokens) for running requests first,
        then for waiting ones admitted in FCFS order, within max_num_batched_tokens tokens,
        max_num_seqs sequences and the free blocks of the KV cache."""
        budget = self.config.max_num_batched_tokens
        scheduled: list[tuple[Request, int]] = []
        preempted: list[str] = []

        # 1. running requests first, in order
        i = 0
        while i < len(self.running) and budget > 0:
            req = self.running[i]
            n = min(req.num_tokens - req.num_computed_tokens, budget)
            while self.kv.allocate_slots(req, n) is None:
                victim = self._preempt()  # stage 6
                preempted.append(victim.request_id)
                if victim is req:
                    break
            if req.status is not RequestStatus.RUNNING:
                break  # it preempted itself: nothing left to take blocks from
            scheduled.append((req, n))
            budget -= n
            i += 1

        # 2. then waiting requests, FCFS; none in a step that had to preempt
        while self.waiting and not preempted and budget > 0 and len(self.running) < self.config.max_num_seqs:
            req = self.waiting[0]
            hits, num_hit_tokens = self.kv.get_computed_blocks(req)
            n = req.num_tokens - num_hit_tokens
            if n > budget:
                if not self.config.enable_chunked_prefill:
                    break
                n = budget  # stage 4: a chunk now, the rest in later steps
            if self.kv.allocate_slots(req, n, hits) is None:
                break
            self.waiting.popleft()
            req.num_computed_tokens = num_hit_tokens
            if req.num_cached_tokens < 0:
                req.num_cached_tokens = num_hit_tokens
            req.status = RequestStatus.RUNNING
            self.running.append(req)
            scheduled.append((req, n))
            budget -= n
        return SchedulerOutput(scheduled, preempted)

    def _preempt(self) -> Request:
        """Stage 6: recompute preemption of the lowest-priority (last admitted) running request."""
        victim = self.running.pop()
        self.kv.free(victim)
        victim.status = RequestStatus.PREEMPTED
        victim.num_computed_tokens = 0  # prompt + outputs are prefilled again on resume
        victim.num_preemptions += 1
        self.num_preemptions += 1
        self.preempted_log.append(victim.request_id)
        self.waiting.appendleft(victim)  # first in line to resume
        return victim

    def update_from_output(self, out: SchedulerOutput, sampled: dict[str, int]) -> list[tuple[Request, list[int]]]:
        """Advance every scheduled request; returns (request, its new tokens) for each."""
        results = []
        for req, n in out.scheduled:
            req.num_computed_tokens += n
            new = []
            if req.num_computed_tokens == req.num_tokens:  # not a partial prefill: keep the sampled token
                req.append_output_token(sampled[req.request_id])
                new.append(sampled[req.request_id])
                if req.check_stop():
                    self.running.remove(req)
                    self.kv.free(req)
            results.append((req, new))
        return results
