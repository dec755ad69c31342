"""Weight quantization for inference: scales at three granularities, int4 packing, and GPTQ's
error feedback measured against round-to-nearest.

Implement the parts marked TODO. README.md explains each one.
"""
from __future__ import annotations

import torch


def qrange(bits: int, symmetric: bool) -> tuple[int, int]:
    """Integer range: symmetric [-(2^(b-1)-1), 2^(b-1)-1] (zero exact, -2^(b-1) unused); asymmetric [0, 2^b-1]."""
    # TODO
    raise NotImplementedError("qrange")


def quantize(w: torch.Tensor, bits: int, group_size: int | None = None, symmetric: bool = True):
    """Quantize a [out, in] weight with one scale per (row, group of `group_size` input columns);
    group_size None = one group per row (per-channel); group_size = in and a single row = per-tensor
    is `quantize_tensor`. Returns (q [out, in] int8, or uint8 when asymmetric; scale [out, groups]; zero [out, groups])."""
    # TODO
    raise NotImplementedError("quantize")


def quantize_tensor(w: torch.Tensor, bits: int):
    """One symmetric scale for the whole tensor: (q, scale scalar tensor)."""
    # TODO
    raise NotImplementedError("quantize_tensor")


def dequantize(q: torch.Tensor, scale: torch.Tensor, zero: torch.Tensor) -> torch.Tensor:
    # TODO
    raise NotImplementedError("dequantize")


def pack_int4(q: torch.Tensor) -> torch.Tensor:
    """Unsigned 4-bit values [..., 2n] -> uint8 [..., n]; element 2i in the low nibble of byte i."""
    # TODO
    raise NotImplementedError("pack_int4")


def unpack_int4(packed: torch.Tensor) -> torch.Tensor:
    # TODO
    raise NotImplementedError("unpack_int4")


def output_error(w: torch.Tensor, w_hat: torch.Tensor, x: torch.Tensor) -> float:
    """Relative error of the layer's outputs on inputs x [n, in]: ||x w^T - x w_hat^T|| / ||x w^T||."""
    # TODO
    raise NotImplementedError("output_error")


def gptq(w: torch.Tensor, x: torch.Tensor, bits: int, group_size: int, damp: float = 0.01) -> torch.Tensor:
    """GPTQ (Frantar et al., 2022), asymmetric groups: quantize one input column at a time and push
    its rounding error onto the columns not yet quantized, weighted by the inverse Hessian of the
    layer's squared output error, H = 2 x^T x. Returns the dequantized weight."""
    # TODO
    raise NotImplementedError("gptq")
