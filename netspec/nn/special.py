"""Modules for radial basis units, graph convolution and the VAE reparameterization."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class RBF(nn.Module):
    """φⱼ(x) = exp(−‖x − cⱼ‖² / (2σⱼ²)) over the last dim."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.centers = nn.Parameter(torch.empty(out_features, in_features).uniform_(-1.0, 1.0))
        self.log_sigmas = nn.Parameter(torch.zeros(out_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sq = (x.unsqueeze(-2) - self.centers).pow(2).sum(-1)
        return torch.exp(-sq / (2 * torch.exp(2 * self.log_sigmas)))

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}"


class GraphConv(nn.Module):
    """Â (X Wᵀ) + b for a batch of graphs: x (B, N, F), adj (B, N, N)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))

    def forward(self, x: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
        out = torch.matmul(adj, F.linear(x, self.weight))
        return out + self.bias if self.bias is not None else out

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Reparameterize(nn.Module):
    def forward(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return mu
        return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
