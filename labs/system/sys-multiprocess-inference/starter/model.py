"""TinyLM: a small deterministic language model for the pipeline-parallel lab.

Given: do not edit. Embedding, `num_layers` residual blocks (a causal prefix-mean
token mixer, then a SiLU MLP, each behind an RMSNorm) and an LM head, float64,
weights drawn from a seeded generator so every process builds the same model.

Every block runs one sequence at a time. That is deliberate: a BLAS GEMM's
summation order can depend on the matrix shape, so `linear(x[0:2])` need not be
bit-equal to `linear(x)[0:2]`. Processing each sequence as its own [T, H] matrix
makes the result independent of how the batch is cut into micro-batches, so the
pipeline's logits can be compared with the single-process model exactly.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

VOCAB, HIDDEN, LAYERS = 61, 32, 7


def _rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


class TinyLM:
    def __init__(self, seed: int = 0, vocab: int = VOCAB, hidden: int = HIDDEN, num_layers: int = LAYERS,
                 device: torch.device | str = "cpu"):
        g = torch.Generator().manual_seed(seed)

        def rand(*shape, scale=1.0, shift=0.0):
            return (torch.randn(*shape, generator=g, dtype=torch.float64) * scale + shift).to(device)

        self.vocab, self.hidden = vocab, hidden
        self.embedding = rand(vocab, hidden)
        self.layers = [
            {
                "mix_norm": rand(hidden, scale=0.1, shift=1.0),
                "mix": rand(hidden, hidden, scale=hidden ** -0.5),
                "mlp_norm": rand(hidden, scale=0.1, shift=1.0),
                "up": rand(2 * hidden, hidden, scale=hidden ** -0.5),
                "down": rand(hidden, 2 * hidden, scale=(2 * hidden) ** -0.5),
            }
            for _ in range(num_layers)
        ]
        self.final_norm = rand(hidden, scale=0.1, shift=1.0)
        self.head = rand(vocab, hidden, scale=hidden ** -0.5)

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    def tokenize(self, text: str) -> list[int]:
        """A toy byte tokenizer: one id per UTF-8 byte, folded into the vocabulary."""
        return [b % self.vocab for b in text.encode()]

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        """[rows, T] int64 token ids -> [rows, T, H] hidden states (the first stage's job)."""
        return F.embedding(ids, self.embedding)

    def layer(self, index: int, x: torch.Tensor) -> torch.Tensor:
        """Block `index` on [rows, T, H] hidden states; returns the same shape."""
        w = self.layers[index]
        out = []
        for h in x.unbind(0):  # one sequence at a time: see the module docstring
            n = _rms_norm(h, w["mix_norm"])
            prefix_mean = n.cumsum(0) / torch.arange(1, h.shape[0] + 1, dtype=h.dtype, device=h.device).unsqueeze(1)
            h = h + F.linear(prefix_mean, w["mix"])
            h = h + F.linear(F.silu(F.linear(_rms_norm(h, w["mlp_norm"]), w["up"])), w["down"])
            out.append(h)
        return torch.stack(out)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """[rows, T, H] -> [rows, V]: final norm and LM head on each sequence's last position only
        (the only position greedy decoding samples from)."""
        return torch.stack([F.linear(_rms_norm(h[-1], self.final_norm), self.head) for h in x.unbind(0)])

    def generate(self, prompts: list[str], steps: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Single-process greedy decoding, the reference: (tokens [B, steps], logits [steps, B, V]).
        Prompts must tokenize to the same length (no padding in this lab). No KV cache: every step
        runs the whole sequence again."""
        ids = torch.tensor([self.tokenize(p) for p in prompts], dtype=torch.int64, device=self.embedding.device)
        tokens, all_logits = [], []
        for _ in range(steps):
            x = self.embed(ids)
            for i in range(self.num_layers):
                x = self.layer(i, x)
            step_logits = self.logits(x)
            nxt = step_logits.argmax(-1)
            tokens.append(nxt)
            all_logits.append(step_logits)
            ids = torch.cat([ids, nxt.unsqueeze(1)], dim=1)
        return torch.stack(tokens, dim=1), torch.stack(all_logits)
