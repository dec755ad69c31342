"""Stage 1: a Llama-architecture decoder in plain PyTorch.

Mirrors vllm/model_executor/models/llama.py (LlamaForCausalLM, LlamaModel,
LlamaDecoderLayer, LlamaAttention, LlamaMLP) with vLLM's merged projections:
q/k/v live in one qkv_proj and gate/up in one gate_up_proj
(LlamaModel.load_weights with LlamaModel.hf_to_vllm_mapper maps the
checkpoint's names onto those shards).

Two ways to run it:
- model(input_ids[B, T]) -> logits[B, T, V]: no cache, causal attention
  (stage 1, checked against transformers' LlamaForCausalLM);
- model(input_ids[N], positions[N], attn=backend) -> hidden[N, hidden]:
  the flattened batch of an engine step; every layer hands q, k, v to
  backend(layer_idx, q, k, v), which owns the KV cache (stage 2).
"""
from __future__ import annotations

import glob
import json
import os
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class ModelConfig:
    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    rms_norm_eps: float
    rope_theta: float
    tie_word_embeddings: bool
    attention_bias: bool = False
    eos_token_id: int | list[int] | None = None
    max_position_embeddings: int = 2048

    @classmethod
    def from_json(cls, path: str) -> ModelConfig:
        with open(path) as fh:
            c = json.load(fh)
        rope = c.get("rope_parameters") or c.get("rope_scaling") or {}
        if rope.get("rope_type", rope.get("type", "default")) not in ("default", None):
            raise NotImplementedError(f"rope_type {rope.get('rope_type')} is not supported")
        heads = c["num_attention_heads"]
        return cls(
            vocab_size=c["vocab_size"], hidden_size=c["hidden_size"],
            intermediate_size=c["intermediate_size"], num_hidden_layers=c["num_hidden_layers"],
            num_attention_heads=heads, num_key_value_heads=c.get("num_key_value_heads") or heads,
            head_dim=c.get("head_dim") or c["hidden_size"] // heads,
            rms_norm_eps=c.get("rms_norm_eps", 1e-6),
            rope_theta=rope.get("rope_theta", c.get("rope_theta", 10000.0)),
            tie_word_embeddings=c.get("tie_word_embeddings", False),
            attention_bias=c.get("attention_bias", False),
            eos_token_id=c.get("eos_token_id"),
            max_position_embeddings=c.get("max_position_embeddings", 2048),
        )


class RMSNorm(nn.Module):
    """x / rms(x) * weight, computed in float32 (vllm/model_executor/layers/layernorm.py::RMSNorm)."""

    def __init__(self, size: int, eps: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dtype)


def rope_cos_sin(positions: torch.Tensor, head_dim: int, theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin for each position, [..., head_dim], in the 'rotate half' (NeoX) layout Llama uses."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, device=positions.device, dtype=torch.float32) / head_dim))
    freqs = positions.float()[..., None] * inv_freq
    emb = torch.cat([freqs, freqs], dim=-1)
    return emb.cos(), emb.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x[..., heads, head_dim]; cos/sin[..., head_dim] broadcast over heads."""
    half = x.shape[-1] // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    cos, sin = cos.unsqueeze(-2), sin.unsqueeze(-2)
    return (x.float() * cos + rotated.float() * sin).to(x.dtype)


class Attention(nn.Module):
    def __init__(self, cfg: ModelConfig, layer_idx: int) -> None:
        super().__init__()
        self.layer_idx = layer_idx
        self.num_heads, self.num_kv_heads, self.head_dim = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
        self.q_size, self.kv_size = self.num_heads * self.head_dim, self.num_kv_heads * self.head_dim
        self.qkv_proj = nn.Linear(cfg.hidden_size, self.q_size + 2 * self.kv_size, bias=cfg.attention_bias)
        self.o_proj = nn.Linear(self.q_size, cfg.hidden_size, bias=cfg.attention_bias)

    def forward(self, x: torch.Tensor, cos_sin: tuple[torch.Tensor, torch.Tensor], attn=None) -> torch.Tensor:
        q, k, v = self.qkv_proj(x).split([self.q_size, self.kv_size, self.kv_size], dim=-1)
        q = q.unflatten(-1, (self.num_heads, self.head_dim))
        k = k.unflatten(-1, (self.num_kv_heads, self.head_dim))
        v = v.unflatten(-1, (self.num_kv_heads, self.head_dim))
        q, k = apply_rope(q, *cos_sin), apply_rope(k, *cos_sin)
        if attn is not None:  # engine path: [N, heads, head_dim], the backend owns the cache
            out = attn(self.layer_idx, q, k, v)
        else:  # [B, T, heads, head_dim], causal attention over this call's tokens only
            out = F.scaled_dot_product_attention(
                q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), is_causal=True,
                enable_gqa=self.num_heads != self.num_kv_heads).transpose(1, 2)
        return self.o_proj(out.flatten(-2))


class MLP(nn.Module):
    """SwiGLU: down(silu(gate(x)) * up(x)), gate and up merged into one matmul."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.gate_up_proj = nn.Linear(cfg.hidden_size, 2 * cfg.intermediate_size, bias=False)
        self.down_proj = nn.Linear(cfg.intermediate_size, cfg.hidden_size, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, up = self.gate_up_proj(x).chunk(2, dim=-1)
        return self.down_proj(F.silu(gate) * up)


class DecoderLayer(nn.Module):
    def __init__(self, cfg: ModelConfig, layer_idx: int) -> None:
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.self_attn = Attention(cfg, layer_idx)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.mlp = MLP(cfg)

    def forward(self, x: torch.Tensor, cos_sin: tuple[torch.Tensor, torch.Tensor], attn=None) -> torch.Tensor:
        x = x + self.self_attn(self.input_layernorm(x), cos_sin, attn)
        return x + self.mlp(self.post_attention_layernorm(x))


class LlamaForCausalLM(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.config = cfg
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList(DecoderLayer(cfg, i) for i in range(cfg.num_hidden_layers))
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)
        if cfg.tie_word_embeddings:
            self.lm_head.weight = self.embed_tokens.weight

    def forward(self, input_ids: torch.Tensor, positions: torch.Tensor | None = None, attn=None) -> torch.Tensor:
        if positions is None:
            positions = torch.arange(input_ids.shape[-1], device=input_ids.device).expand_as(input_ids)
        x = self.embed_tokens(input_ids)
        cos_sin = rope_cos_sin(positions, self.config.head_dim, self.config.rope_theta)  # shared by every layer
        for layer in self.layers:
            x = layer(x, cos_sin, attn)
        x = self.norm(x)
        return x if attn is not None else self.compute_logits(x)

    def compute_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.lm_head(hidden).float()

    def load_weights(self, weights: dict[str, torch.Tensor]) -> None:
        """Copy a Hugging Face Llama state dict in, merging q/k/v and gate/up."""
        params = dict(self.named_parameters())
        merged: dict[str, dict[str, torch.Tensor]] = {}
        merge = {"q_proj": ("qkv_proj", 0), "k_proj": ("qkv_proj", 1), "v_proj": ("qkv_proj", 2),
                 "gate_proj": ("gate_up_proj", 0), "up_proj": ("gate_up_proj", 1)}
        loaded = set()
        for name, tensor in weights.items():
            if "rotary_emb.inv_freq" in name:
                continue
            if name.startswith("model."):
                name = name[len("model."):]
            parts = name.split(".")
            if len(parts) >= 2 and parts[-2] in merge:
                target, index = merge[parts[-2]]
                key = ".".join(parts[:-2] + [target, parts[-1]])
                merged.setdefault(key, {})[index] = tensor
                continue
            if name == "lm_head.weight" and self.config.tie_word_embeddings:
                continue
            if name not in params:
                raise KeyError(f"unexpected weight {name}")
            params[name].data.copy_(tensor)
            loaded.add(name)
        for key, pieces in merged.items():
            params[key].data.copy_(torch.cat([pieces[i] for i in sorted(pieces)], dim=0))
            loaded.add(key)
        if self.config.tie_word_embeddings:
            loaded.add("lm_head.weight")
        missing = set(params) - loaded
        if missing:
            raise KeyError(f"weights missing from the checkpoint: {sorted(missing)}")


def load_model(path: str, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32) -> LlamaForCausalLM:
    """Build the model from a Hugging Face folder (config.json + *.safetensors)."""
    from safetensors.torch import load_file

    cfg = ModelConfig.from_json(os.path.join(path, "config.json"))
    model = LlamaForCausalLM(cfg)
    weights: dict[str, torch.Tensor] = {}
    for f in sorted(glob.glob(os.path.join(path, "*.safetensors"))):
        weights.update(load_file(f))
    if not weights:
        raise FileNotFoundError(f"no .safetensors files in {path}")
    model.load_weights(weights)
    return model.to(device=device, dtype=dtype).eval()
