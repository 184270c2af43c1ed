"""Transformer encoder and decoder layers computed with scaled_dot_product_attention.

Submodules and parameters carry the names of torch.nn.TransformerEncoderLayer /
TransformerDecoderLayer (``self_attn``, ``multihead_attn``, ``linear1``, ``linear2``, ``norm1``…),
so ``load_state_dict`` copies weights across in either direction, and the arithmetic follows
torch's: post-norm ``x = norm(x + sublayer(x))`` or pre-norm ``x = x + sublayer(norm(x))``.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from .attention import MultiheadAttention, valid_keys


class _Layer(nn.Module):
    def __init__(self, d_model: int, nhead: int, dim_feedforward: int, dropout: float, activation: nn.Module,
                 layer_norm_eps: float, norm_first: bool, bias: bool, causal: bool, padding: str) -> None:
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias)
        self.linear1 = nn.Linear(d_model, dim_feedforward, bias=bias)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(dim_feedforward, d_model, bias=bias)
        self.norm_first, self.causal, self.padding = norm_first, causal, padding
        self.norm1 = nn.LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.norm2 = nn.LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.activation = activation

    def _sa(self, x: torch.Tensor, valid: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.dropout1(self.self_attn.attention(x, x, x, valid, self.causal))

    def _ff(self, x: torch.Tensor, drop: nn.Module) -> torch.Tensor:
        return drop(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def extra_repr(self) -> str:
        return f"norm_first={self.norm_first}, causal={self.causal}, padding={self.padding}"


class TransformerEncoderLayer(_Layer):
    """forward(x (N, L, D) [, padding]) -> (N, L, D)."""

    def forward(self, x: torch.Tensor, *pad: torch.Tensor) -> torch.Tensor:
        valid = valid_keys(self.padding, pad[0] if pad else None, x.shape[1])
        if self.norm_first:
            x = x + self._sa(self.norm1(x), valid)
            return x + self._ff(self.norm2(x), self.dropout2)
        x = self.norm1(x + self._sa(x, valid))
        return self.norm2(x + self._ff(x, self.dropout2))


class TransformerDecoderLayer(_Layer):
    """forward(tgt (N, L, D), memory (N, S, D) [, memory padding]) -> (N, L, D): causal
    self-attention, cross-attention over the memory, feed-forward."""

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int, dropout: float, activation: nn.Module,
                 layer_norm_eps: float, norm_first: bool, bias: bool, causal: bool, padding: str) -> None:
        super().__init__(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, norm_first, bias,
                         causal, padding)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias)
        self.norm3 = nn.LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.dropout3 = nn.Dropout(dropout)

    def _mha(self, x: torch.Tensor, memory: torch.Tensor, valid: Optional[torch.Tensor]) -> torch.Tensor:
        return self.dropout2(self.multihead_attn.attention(x, memory, memory, valid))

    def forward(self, x: torch.Tensor, memory: torch.Tensor, *pad: torch.Tensor) -> torch.Tensor:
        valid = valid_keys(self.padding, pad[0] if pad else None, memory.shape[1])
        if self.norm_first:
            x = x + self._sa(self.norm1(x))
            x = x + self._mha(self.norm2(x), memory, valid)
            return x + self._ff(self.norm3(x), self.dropout3)
        x = self.norm1(x + self._sa(x))
        x = self.norm2(x + self._mha(x, memory, valid))
        return self.norm3(x + self._ff(x, self.dropout3))
