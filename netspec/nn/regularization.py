"""Regularization modules not in torch.nn: DropConnect on a linear layer's weights, additive
Gaussian noise. Both act only in training mode and are the identity (plain weights) in eval."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class DropConnectLinear(nn.Linear):
    """nn.Linear whose weights (not activations) are dropped with probability ``p`` in training.

    Each forward pass in training draws a fresh Bernoulli mask over the weight matrix, shared by
    the batch, and scales the kept weights by 1/(1−p) (inverted dropout on W), so evaluation uses
    W unchanged. The parameters and state-dict names are those of nn.Linear.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, p: float = 0.5) -> None:
        super().__init__(in_features, out_features, bias=bias)
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = F.dropout(self.weight, self.p, self.training)
        return F.linear(x, weight, self.bias)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, p={self.p}"


class GaussianNoise(nn.Module):
    """Adds N(0, std²) noise to every element in training; the identity in evaluation."""

    def __init__(self, std: float) -> None:
        super().__init__()
        self.std = std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.std == 0:
            return x
        return x + torch.randn_like(x) * self.std

    def extra_repr(self) -> str:
        return f"std={self.std}"
