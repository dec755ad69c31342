"""Stage 2: the model runner: flattened inputs, slot mapping, paged attention.

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
    return [block_ids[pos // block_size] * block_size + pos % block_size for pos in range(start, end)]


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
        k_cache, v_cache = self.kv_caches[layer]
        nb, bs, kvh, d = k_cache.shape
        # write this step's K/V into their slots first: a query also attends to its own token
        k_cache.view(-1, kvh, d).index_copy_(0, self.slot_mapping, k)
        v_cache.view(-1, kvh, d).index_copy_(0, self.slot_mapping, v)
        out = torch.empty_like(q)
        gqa = q.shape[1] != kvh
        if self.dec_rows is not None:
            b = len(self.dec_rows)
            idx = self.dec_tables.flatten()
            keys = k_cache.index_select(0, idx).view(b, -1, kvh, d).transpose(1, 2)  # [B, kvh, L, d]
            vals = v_cache.index_select(0, idx).view(b, -1, kvh, d).transpose(1, 2)
            qd = q.index_select(0, self.dec_rows).unsqueeze(2)  # [B, H, 1, d]
            o = F.scaled_dot_product_attention(qd, keys, vals, attn_mask=self.dec_mask, enable_gqa=gqa)
            out.index_copy_(0, self.dec_rows, o.squeeze(2))
        for start, n, ctx, table in self.prefills:
            keys = k_cache.index_select(0, table).view(-1, kvh, d)[:ctx].transpose(0, 1)  # [kvh, ctx, d]
            vals = v_cache.index_select(0, table).view(-1, kvh, d)[:ctx].transpose(0, 1)
            qp = q[start:start + n].transpose(0, 1)  # [H, n, d]
            # query j sits at position ctx - n + j and sees keys 0 .. ctx - n + j
            mask = torch.arange(ctx, device=q.device)[None, :] <= torch.arange(ctx - n, ctx, device=q.device)[:, None]
            o = F.scaled_dot_product_attention(qp, keys, vals, attn_mask=mask, enable_gqa=gqa)
            out[start:start + n] = o.transpose(0, 1)
        return out


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
        input_ids, positions, slots, seqs, logits_indices, sampling = [], [], [], [], [], []
        for req, n in out.scheduled:
            start = req.num_computed_tokens
            end = start + n
            block_ids = self.kv.block_ids(req.request_id)
            seqs.append((len(input_ids), n, end, torch.tensor(block_ids, device=self.device)))
            input_ids += req.all_token_ids[start:end]
            positions += range(start, end)
            slots += compute_slot_mapping(block_ids, start, end, self.block_size)
            if end == req.num_tokens:
                logits_indices.append(len(input_ids) - 1)
                sampling.append(req)
        if not input_ids:
            return {}
        dev = self.device
        attn = PagedAttention(self.kv_caches, torch.tensor(slots, device=dev), seqs, self.block_size)
        hidden = self.model(torch.tensor(input_ids, device=dev), torch.tensor(positions, device=dev), attn=attn)
        if not sampling:
            return {}
        logits = self.model.compute_logits(hidden[torch.tensor(logits_indices, device=dev)])
        tokens = self.sampler(logits, sampling)
        return {r.request_id: t for r, t in zip(sampling, tokens, strict=True)}
