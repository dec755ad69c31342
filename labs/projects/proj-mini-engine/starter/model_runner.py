"""Starter (fill in every NotImplementedError). Stage 2: the model runner: flattened inputs, slot mapping, paged attention.

Mirrors vllm/v1/worker/gpu_model_runner.py::GPUModelRunner (_prepare_inputs
builds input_ids, positions, query_start_loc, seq_lens and logits_indices for
the whole step; execute_model runs one forward and samples), the write kernel
csrc/cache_kernels.cu::reshape_and_cache_flash (K/V of new tokens go to
k_cache.flat[slot]) and the attention backends that read the cache through
block tables (vllm/v1/attention/backends/flash_attn.py::FlashAttentionImpl);
decodes and prefills are attended separately, as
vllm/v1/attention/backends/utils.py::split_decodes_and_prefills arranges.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from sampler import Sampler


@dataclass
class SchedulerOutput:
    """What one step computes: (request, number of its tokens) in batch order.

    Each request computes all_token_ids[num_computed_tokens : num_computed_tokens + n];
    the runner reads num_computed_tokens as it was before this step."""
    scheduled: list[tuple[object, int]]
    preempted: list[str] = None

    @property
    def total_num_scheduled_tokens(self) -> int:
        return sum(n for _, n in self.scheduled)


def compute_slot_mapping(block_ids: list[int], start: int, end: int, block_size: int) -> list[int]:
    """Cache slots of positions start..end-1: block_ids[pos // block_size] * block_size + pos % block_size."""
    raise NotImplementedError("stage 2: cache slot of each position")


class PagedAttention:
    """The attention backend of one step; the model calls it once per layer."""

    def __init__(self, kv_caches, slot_mapping, seqs, block_size: int) -> None:
        self.kv_caches = kv_caches  # per layer: (k_cache, v_cache), each [num_blocks, block_size, kv_heads, head_dim]
        self.slot_mapping = slot_mapping  # [N]
        self.seqs = seqs  # per request: (query start in the batch, query length, context length, block table [nb])
        self.block_size = block_size
        dev = slot_mapping.device
        decodes = [s for s in seqs if s[1] == 1]
        self.prefills = [s for s in seqs if s[1] > 1]
        if decodes:  # one padded gather + one SDPA call for every single-token query
            width = max(len(s[3]) for s in decodes)
            self.dec_rows = torch.tensor([s[0] for s in decodes], device=dev)
            self.dec_tables = torch.stack([F.pad(s[3], (0, width - len(s[3]))) for s in decodes])  # pad: null block 0
            lens = torch.tensor([s[2] for s in decodes], device=dev)
            self.dec_mask = (torch.arange(width * block_size, device=dev)[None, :] < lens[:, None])[:, None, None, :]
        else:
            self.dec_rows = None

    def __call__(self, layer: int, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """q[N, heads, head_dim], k/v[N, kv_heads, head_dim] for the step's N tokens -> out like q."""
        raise NotImplementedError("stage 2: write K/V to their slots, attend through the block tables")


class ModelRunner:
    def __init__(self, model, kv_cache_manager, num_blocks: int, block_size: int) -> None:
        self.model = model
        self.kv = kv_cache_manager
        self.block_size = block_size
        cfg = model.config
        p = next(model.parameters())
        shape = (num_blocks, block_size, cfg.num_key_value_heads, cfg.head_dim)
        self.kv_caches = [(torch.zeros(shape, dtype=p.dtype, device=p.device),
                           torch.zeros(shape, dtype=p.dtype, device=p.device)) for _ in range(cfg.num_hidden_layers)]
        self.device = p.device
        self.sampler = Sampler()

    @property
    def bytes_per_block(self) -> int:
        k = self.kv_caches[0][0]
        return 2 * len(self.kv_caches) * k[0].numel() * k.element_size()

    @torch.inference_mode()
    def execute_model(self, out: SchedulerOutput) -> dict[str, int]:
        """One forward over every scheduled token; a token for each request whose
        scheduled tokens reach the end of its known tokens (not a partial prefill)."""
        raise NotImplementedError("stage 2: flatten the step, run the model once, sample")
