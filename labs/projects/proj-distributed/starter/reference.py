"""Given (do not edit): the single-process models every stage is compared with.

float64 throughout, weights from a seeded generator, so every process builds
the same tensors. Weights use the nn.Linear layout: [out_features, in_features].
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def weights(seed: int, *shapes, scale: float = 0.3) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(*s, generator=g, dtype=torch.float64) * scale for s in shapes]


def mlp(x, gate, up, down):
    """down(silu(gate(x)) * up(x)): a Llama MLP without biases."""
    return F.linear(F.silu(F.linear(x, gate)) * F.linear(x, up), down)


def attention(x, wq, wk, wv, wo, num_heads: int, num_kv_heads: int):
    """Causal self-attention over one sequence x [T, hidden] with grouped KV heads:
    query head h reads KV head h // (num_heads // num_kv_heads). No RoPE (it is per head
    and position, so it does not change how heads are split)."""
    t = x.shape[0]
    head_dim = wq.shape[0] // num_heads
    q = F.linear(x, wq).view(t, num_heads, head_dim).transpose(0, 1)
    k = F.linear(x, wk).view(t, num_kv_heads, head_dim).transpose(0, 1)
    v = F.linear(x, wv).view(t, num_kv_heads, head_dim).transpose(0, 1)
    group = num_heads // num_kv_heads
    k, v = k.repeat_interleave(group, dim=0), v.repeat_interleave(group, dim=0)
    o = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    return F.linear(o.transpose(0, 1).reshape(t, num_heads * head_dim), wo)


def rms_norm(x, eps: float = 1e-6):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)


class TinyDecoder:
    """num_layers residual MLP blocks, x + mlp(rms_norm(x)), applied row by row
    (each row is an independent token, so cutting a batch into micro-batches
    cannot change the result beyond rounding)."""

    def __init__(self, num_layers: int = 6, hidden: int = 16, intermediate: int = 32, seed: int = 0):
        self.num_layers, self.hidden = num_layers, hidden
        self.params = [weights(seed + i, (intermediate, hidden), (intermediate, hidden), (hidden, intermediate))
                       for i in range(num_layers)]

    def layer(self, i: int, x: torch.Tensor) -> torch.Tensor:
        gate, up, down = self.params[i]
        return x + mlp(rms_norm(x), gate, up, down)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i in range(self.num_layers):
            x = self.layer(i, x)
        return x
