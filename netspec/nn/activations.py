"""Activation modules not in torch.nn: softmax with temperature and the Heaviside step."""

from __future__ import annotations

import torch
from torch import nn


class TemperatureSoftmax(nn.Module):
    """softmax(x / T) along ``dim`` (T > 1 flattens the distribution, T < 1 sharpens it)."""

    def __init__(self, dim: int = -1, temperature: float = 1.0, log: bool = False) -> None:
        super().__init__()
        self.dim, self.temperature, self.log = dim, temperature, log

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.temperature != 1.0:
            x = x / self.temperature
        return torch.log_softmax(x, self.dim) if self.log else torch.softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, temperature={self.temperature}, log={self.log}"


class Step(nn.Module):
    """Heaviside step: 1 where x > threshold, else 0 (the perceptron's activation; no gradient)."""

    def __init__(self, threshold: float = 0.0) -> None:
        super().__init__()
        self.threshold = threshold

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x > self.threshold).to(x.dtype)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}"
