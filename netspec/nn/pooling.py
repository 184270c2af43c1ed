"""Pooling modules not in torch.nn."""

from __future__ import annotations

import torch
from torch import nn


class GlobalPool(nn.Module):
    """Mean or max over every spatial axis: (N, C, *spatial) -> (N, C)."""

    def __init__(self, op: str, spatial_dims: int) -> None:
        super().__init__()
        self.op = op
        self.dims = tuple(range(2, 2 + spatial_dims))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(self.dims) if self.op == "mean" else x.amax(self.dims)

    def extra_repr(self) -> str:
        return f"op={self.op}, dims={self.dims}"
