"""Vocabulary padding for output heads: the matrix multiply runs with the output features rounded
up to a multiple (64: whole tensor-core tiles and aligned rows), and the logits are sliced back.

``pad_vocab(linear, multiple)`` changes how an ``nn.Linear`` computes, not what it holds: its
``weight`` and ``bias`` keep their shapes and names (checkpoints, tied embeddings and exports are
untouched), the padded rows are zeros made inside the forward pass, and the logits equal the plain
layer's. The module's class becomes ``PaddedVocabLinear`` (a subclass of ``nn.Linear``, as
``torch.nn.utils.parametrize`` swaps classes); ``unpad_vocab`` restores it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def padded_size(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple


class PaddedVocabLinear(nn.Linear):
    """``nn.Linear`` computed with ``out_features`` padded to ``pad_multiple``; (…, out_features) out."""

    pad_multiple: int = 64

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = self.out_features
        extra = padded_size(n, self.pad_multiple) - n
        if extra == 0:
            return super().forward(x)
        w = F.pad(self.weight, (0, 0, 0, extra))  # compiled, the pad fuses with autocast's 16-bit cast
        b = F.pad(self.bias, (0, extra)) if self.bias is not None else None
        return F.linear(x, w, b)[..., :n]

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, pad_multiple={self.pad_multiple}"


def pad_vocab(module: nn.Module, multiple: int) -> bool:
    """Make a plain ``nn.Linear`` compute padded; returns whether it did (other classes, e.g.
    parametrized or DropConnect linears, and already aligned sizes are left alone)."""
    if type(module) is not nn.Linear or module.out_features % multiple == 0:
        return False
    module.__class__ = PaddedVocabLinear
    module.pad_multiple = multiple
    return True


def unpad_vocab(module: nn.Module) -> None:
    if type(module) is PaddedVocabLinear:
        module.__class__ = nn.Linear
        del module.pad_multiple
