"""Starter (fill in every NotImplementedError). Stage 3: the engine loop (vllm/v1/engine/core.py::EngineCore.step and
vllm/v1/engine/llm_engine.py::LLMEngine, folded into one process).

step() = schedule -> execute the model on the flattened batch -> sample ->
update request state; requests may be added between any two steps.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from kv_cache_manager import KVCacheManager
from model import LlamaForCausalLM, load_model
from model_runner import ModelRunner
from request import Request
from sampler import SamplingParams
from scheduler import Scheduler, SchedulerConfig


@dataclass
class EngineConfig:
    block_size: int = 16
    num_blocks: int = 1024  # KV cache capacity: (num_blocks - 1) * block_size tokens (block 0 is the null block)
    max_num_batched_tokens: int = 2048
    max_num_seqs: int = 128  # vLLM 0.33.0 defaults: 2048 tokens, 128 sequences (SchedulerConfig)
    enable_chunked_prefill: bool = True
    enable_prefix_caching: bool = True
    device: str = field(default_factory=lambda: "cuda" if torch.cuda.is_available() else "cpu")
    dtype: torch.dtype = torch.float32


@dataclass
class RequestOutput:
    request_id: str
    prompt_token_ids: list[int]
    token_ids: list[int]  # every output token so far
    new_token_ids: list[int]  # produced by this step
    finished: bool
    finish_reason: str | None = None  # "stop" or "length"
    num_cached_tokens: int = 0
    text: str | None = None


class LLMEngine:
    def __init__(self, model: str | LlamaForCausalLM, config: EngineConfig | None = None) -> None:
        self.config = c = config or EngineConfig()
        self.model = load_model(model, c.device, c.dtype) if isinstance(model, str) else model
        self.kv = KVCacheManager(c.num_blocks, c.block_size, c.enable_prefix_caching)
        self.scheduler = Scheduler(SchedulerConfig(c.max_num_batched_tokens, c.max_num_seqs,
                                                   c.enable_chunked_prefill), self.kv)
        self.runner = ModelRunner(self.model, self.kv, c.num_blocks, c.block_size)
        self.requests: dict[str, Request] = {}
        self.num_steps = 0
        self.step_log: list[list[tuple[str, int]]] = []  # per step: (request id, tokens scheduled)
        self.peak_used_blocks = 0

    def add_request(self, request_id: str, prompt_token_ids: list[int], params: SamplingParams | None = None) -> None:
        if request_id in self.requests:
            raise ValueError(f"duplicate request id {request_id}")
        req = Request(request_id, prompt_token_ids, params, self.model.config.eos_token_id)
        self.scheduler.add_request(req)
        self.requests[request_id] = req

    def has_unfinished_requests(self) -> bool:
        return self.scheduler.has_unfinished_requests()

    def step(self) -> list[RequestOutput]:
        """One schedule -> execute -> update cycle; an output for every request that got a token."""
        raise NotImplementedError("stage 3: schedule -> execute -> update")
