"""A request's state as the scheduler sees it (vllm/v1/request.py::Request, RequestStatus)."""
from __future__ import annotations

import enum
import time

import torch
from sampler import SamplingParams


class RequestStatus(enum.Enum):
    WAITING = "waiting"
    RUNNING = "running"
    PREEMPTED = "preempted"
    FINISHED_STOPPED = "stop"  # EOS or a stop token
    FINISHED_LENGTH = "length"  # max_tokens reached

    @property
    def finished(self) -> bool:
        return self in (RequestStatus.FINISHED_STOPPED, RequestStatus.FINISHED_LENGTH)


class Request:
    def __init__(self, request_id: str, prompt_token_ids: list[int], params: SamplingParams | None = None,
                 eos_token_id: int | list[int] | None = None) -> None:
        if not prompt_token_ids:
            raise ValueError("empty prompt")
        self.request_id = request_id
        self.prompt_token_ids = list(prompt_token_ids)
        self.output_token_ids: list[int] = []
        self.all_token_ids = list(prompt_token_ids)  # prompt + outputs, what a recompute re-feeds
        self.params = params or SamplingParams()
        self.eos_token_ids = set([eos_token_id] if isinstance(eos_token_id, int) else (eos_token_id or []))
        self.status = RequestStatus.WAITING
        self.num_computed_tokens = 0  # tokens whose K/V are in the cache
        self.num_cached_tokens = -1  # prefix-cache hit at first admission (-1: not admitted yet)
        self.num_preemptions = 0
        self.block_hashes: list[bytes] = []  # chained hashes of the full blocks of all_token_ids
        # seeded: reproducible whatever else is in the batch; unseeded: a fresh random seed
        self.generator = torch.Generator()
        if self.params.seed is not None:
            self.generator.manual_seed(self.params.seed)
        else:
            self.generator.seed()
        self.arrival_time = time.perf_counter()
        self.token_times: list[float] = []  # when each output token was produced

    @property
    def num_tokens(self) -> int:
        return len(self.all_token_ids)

    def append_output_token(self, token: int) -> None:
        self.output_token_ids.append(token)
        self.all_token_ids.append(token)
        self.token_times.append(time.perf_counter())

    def check_stop(self) -> bool:
        """After appending a token: finished? (vllm/v1/core/sched/utils.py::check_stop)"""
        raise NotImplementedError("stage 3: stop token / EOS -> FINISHED_STOPPED, max_tokens -> FINISHED_LENGTH")
