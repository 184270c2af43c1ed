"""Positional encodings added to (N, L, D) sequences."""

from __future__ import annotations

import math
from typing import Optional

import torch
from torch import nn


def sinusoids(length: int, dim: int, device=None, dtype=None) -> torch.Tensor:
    """(length, dim): sin at even features, cos at odd ones, wavelengths 2π … 10000·2π."""
    pos = torch.arange(length, device=device, dtype=torch.float32).unsqueeze(1)
    rates = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim))
    pe = torch.zeros(length, dim, device=device)
    pe[:, 0::2] = torch.sin(pos * rates)
    pe[:, 1::2] = torch.cos(pos * rates[: dim // 2])
    return pe.to(dtype) if dtype is not None else pe


class PositionalEncoding(nn.Module):
    def __init__(self, dim: int, encoding: str, max_len: Optional[int], scale_input: bool) -> None:
        super().__init__()
        self.dim, self.encoding, self.max_len, self.scale_input = dim, encoding, max_len, scale_input
        if encoding == "learned":
            self.weight = nn.Parameter(torch.randn(max_len, dim))  # as nn.Embedding: N(0, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        length = x.shape[1]
        if self.scale_input:
            x = x * math.sqrt(self.dim)
        if self.encoding == "learned":
            return x + self.weight[:length]
        return x + sinusoids(length, self.dim, x.device, x.dtype)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, encoding={self.encoding}, max_len={self.max_len}, scale_input={self.scale_input}"
