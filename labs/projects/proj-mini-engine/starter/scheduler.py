"""Starter (fill in every NotImplementedError). Stages 3, 4 and 6: the token-budget scheduler.

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
from request import Request, RequestStatus  # noqa: F401 (you will need it)


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
        raise NotImplementedError("stage 3: running first, then waiting, within the token budget")

    def _preempt(self) -> Request:
        """Stage 6: recompute preemption of the lowest-priority (last admitted) running request."""
        raise NotImplementedError("stage 6: free the victim, reset it, put it first in the waiting queue")

    def update_from_output(self, out: SchedulerOutput, sampled: dict[str, int]) -> list[tuple[Request, list[int]]]:
        """Advance every scheduled request; returns (request, its new tokens) for each."""
        raise NotImplementedError("stage 3: append tokens, check stops, free finished requests")
