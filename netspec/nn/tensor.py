"""Weightless tensor operations (dims follow PyTorch: the batch is dim 0)."""

from __future__ import annotations

from typing import Optional, Union

import torch
from torch import nn


class Chunk(nn.Module):
    def __init__(self, chunks: int, dim: int) -> None:
        super().__init__()
        self.chunks, self.dim = chunks, dim

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(torch.chunk(x, self.chunks, dim=self.dim))

    def extra_repr(self) -> str:
        return f"chunks={self.chunks}, dim={self.dim}"


class Select(nn.Module):
    def __init__(self, dim: int, index: int) -> None:
        super().__init__()
        self.dim, self.index = dim, index

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.select(self.dim, self.index)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, index={self.index}"


class Slice(nn.Module):
    def __init__(self, dim: int, start: int, end: Optional[int], step: int) -> None:
        super().__init__()
        self.dim, self.start, self.end, self.step = dim, start, end, step

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        index = [slice(None)] * x.dim()
        index[self.dim] = slice(self.start, self.end, self.step)
        return x[tuple(index)]

    def extra_repr(self) -> str:
        return f"dim={self.dim}, start={self.start}, end={self.end}, step={self.step}"


class Reduce(nn.Module):
    """mean, sum or amax over per-sample dims."""

    def __init__(self, op: str, dim: Union[int, list[int]], keepdim: bool) -> None:
        super().__init__()
        self.op, self.keepdim = op, keepdim
        self.dim = dim if isinstance(dim, int) else tuple(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return getattr(torch, self.op)(x, dim=self.dim, keepdim=self.keepdim)

    def extra_repr(self) -> str:
        return f"op={self.op}, dim={self.dim}, keepdim={self.keepdim}"


class Matmul(nn.Module):
    """torch.matmul per sample: a per-sample vector operand stays a vector, and the batch dim is
    never broadcast against a per-sample dim (the lower-rank operand gets size-1 dims after it)."""

    def __init__(self, rank_a: int, rank_b: int) -> None:
        super().__init__()
        self.rank_a, self.rank_b = rank_a, rank_b

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        if self.rank_a == 1:
            a = a.unsqueeze(-2)
        if self.rank_b == 1:
            b = b.unsqueeze(-1)
        while a.dim() < b.dim():
            a = a.unsqueeze(1)
        while b.dim() < a.dim():
            b = b.unsqueeze(1)
        out = torch.matmul(a, b)
        if self.rank_b == 1:
            out = out.squeeze(-1)
        if self.rank_a == 1:
            out = out.squeeze(-2 if self.rank_b > 1 else -1)
        return out


class Squeeze(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.squeeze(self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Unsqueeze(Squeeze):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.unsqueeze(self.dim)


class Transpose(nn.Module):
    def __init__(self, dim0: int, dim1: int) -> None:
        super().__init__()
        self.dim0, self.dim1 = dim0, dim1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.transpose(self.dim0, self.dim1)

    def extra_repr(self) -> str:
        return f"dim0={self.dim0}, dim1={self.dim1}"
