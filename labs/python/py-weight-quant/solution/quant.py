"""Weight quantization for inference: scales at three granularities, int4 packing, and GPTQ's
error feedback measured against round-to-nearest.

Reference solution. See README.md.
"""
from __future__ import annotations

import torch


def qrange(bits: int, symmetric: bool) -> tuple[int, int]:
    """Integer range: symmetric [-(2^(b-1)-1), 2^(b-1)-1] (zero exact, -2^(b-1) unused); asymmetric [0, 2^b-1]."""
    if not 2 <= bits <= 8:
        raise ValueError(f"bits must be 2..8, got {bits}")
    if symmetric:
        top = 2 ** (bits - 1) - 1
        return -top, top
    return 0, 2**bits - 1


def quantize(w: torch.Tensor, bits: int, group_size: int | None = None, symmetric: bool = True):
    """Quantize a [out, in] weight with one scale per (row, group of `group_size` input columns);
    group_size None = one group per row (per-channel); group_size = in and a single row = per-tensor
    is `quantize_tensor`. Returns (q [out, in] int8, or uint8 when asymmetric; scale [out, groups]; zero [out, groups])."""
    out_f, in_f = w.shape
    g = in_f if group_size is None else group_size
    if g <= 0 or in_f % g:
        raise ValueError(f"group_size {group_size} must divide in_features {in_f}")
    lo, hi = qrange(bits, symmetric)
    groups = w.float().reshape(out_f, in_f // g, g)
    if symmetric:
        scale = groups.abs().amax(dim=-1) / hi
        zero = torch.zeros_like(scale)
    else:
        wmin = groups.amin(dim=-1).clamp(max=0)  # the range always contains 0, so 0 is exact
        wmax = groups.amax(dim=-1).clamp(min=0)
        scale = (wmax - wmin) / (hi - lo)
        zero = torch.round(-wmin / torch.where(scale > 0, scale, 1)).clamp(lo, hi)
    safe = torch.where(scale > 0, scale, torch.ones_like(scale))  # an all-zero group stays zero
    q = torch.round(groups / safe[..., None] + zero[..., None]).clamp(lo, hi)
    return q.reshape(out_f, in_f).to(torch.int8 if symmetric else torch.uint8), scale, zero


def quantize_tensor(w: torch.Tensor, bits: int):
    """One symmetric scale for the whole tensor: (q, scale scalar tensor)."""
    _, hi = qrange(bits, True)
    scale = w.float().abs().max() / hi
    safe = scale if scale > 0 else torch.ones_like(scale)
    return torch.round(w.float() / safe).clamp(-hi, hi).to(torch.int8), scale


def dequantize(q: torch.Tensor, scale: torch.Tensor, zero: torch.Tensor) -> torch.Tensor:
    out_f, in_f = q.shape
    groups = scale.shape[1]
    qg = q.float().reshape(out_f, groups, in_f // groups)
    return ((qg - zero[..., None]) * scale[..., None]).reshape(out_f, in_f)


def pack_int4(q: torch.Tensor) -> torch.Tensor:
    """Unsigned 4-bit values [..., 2n] -> uint8 [..., n]; element 2i in the low nibble of byte i."""
    if q.shape[-1] % 2:
        raise ValueError("pack_int4 needs an even number of values in the last dimension")
    if int(q.min()) < 0 or int(q.max()) > 15:
        raise ValueError("pack_int4 takes unsigned 4-bit values 0..15 (add the zero point first)")
    q = q.to(torch.uint8)
    return q[..., 0::2] | (q[..., 1::2] << 4)


def unpack_int4(packed: torch.Tensor) -> torch.Tensor:
    low, high = packed & 0x0F, packed >> 4
    return torch.stack([low, high], dim=-1).reshape(*packed.shape[:-1], packed.shape[-1] * 2)


def output_error(w: torch.Tensor, w_hat: torch.Tensor, x: torch.Tensor) -> float:
    """Relative error of the layer's outputs on inputs x [n, in]: ||x w^T - x w_hat^T|| / ||x w^T||."""
    ref = x.double() @ w.double().T
    return float(torch.linalg.norm(ref - x.double() @ w_hat.double().T) / torch.linalg.norm(ref))


def gptq(w: torch.Tensor, x: torch.Tensor, bits: int, group_size: int, damp: float = 0.01) -> torch.Tensor:
    """GPTQ (Frantar et al., 2022), asymmetric groups: quantize one input column at a time and push
    its rounding error onto the columns not yet quantized, weighted by the inverse Hessian of the
    layer's squared output error, H = 2 x^T x. Returns the dequantized weight."""
    w = w.double().clone()
    out_f, in_f = w.shape
    h = 2 * x.double().T @ x.double()
    h += damp * torch.diag(h).mean() * torch.eye(in_f, dtype=torch.float64)
    # Upper Cholesky factor of H^-1: row i holds what column i's error does to columns > i.
    hinv = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(h)), upper=True)
    lo, hi = qrange(bits, False)
    w_hat = torch.zeros_like(w)
    for i in range(in_f):
        if i % group_size == 0:  # the group's scale from the weights as they are now
            _, scale, zero = quantize(w[:, i:i + group_size], bits, None, symmetric=False)
            scale, zero = scale[:, 0].double(), zero[:, 0].double()
        safe = torch.where(scale > 0, scale, torch.ones_like(scale))
        q = torch.round(w[:, i] / safe + zero).clamp(lo, hi)
        w_hat[:, i] = (q - zero) * scale
        err = (w[:, i] - w_hat[:, i]) / hinv[i, i]
        w[:, i + 1:] -= err[:, None] * hinv[i, i + 1:][None, :]
    return w_hat.to(torch.float32)
