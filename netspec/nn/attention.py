"""Attention modules. Multi-head attention computes through
``torch.nn.functional.scaled_dot_product_attention`` (so flash / memory-efficient kernels apply)
and names its parameters as ``torch.nn.MultiheadAttention`` does (``in_proj_weight``,
``in_proj_bias``, ``out_proj``), so weights copy across by name.

Masks: a key padding input is either int64 lengths (one per sample: keys at positions ≥ length are
padding) or a bool mask (N, Lk) that is True at padding (PyTorch's ``key_padding_mask``
convention). Internally ``valid`` is a bool (N, Lk) that is True where a key takes part.
"""

from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn


def valid_keys(kind: str, value: Optional[torch.Tensor], length: int) -> Optional[torch.Tensor]:
    """(N, Lk) bool, True for keys that take part; None when there is no padding input."""
    if kind == "none" or value is None:
        return None
    if kind == "lengths":
        return torch.arange(length, device=value.device) < value.unsqueeze(-1)
    return ~value


def sdpa_mask(valid: Optional[torch.Tensor], causal: bool, lq: int, lk: int, device) -> tuple[Optional[torch.Tensor], bool]:
    """The (attn_mask, is_causal) pair for scaled_dot_product_attention: ``is_causal`` alone when
    there is no padding (the fast kernels), else one bool mask (N, 1, Lq, Lk), True = attend."""
    if valid is None:
        return None, causal
    mask = valid[:, None, None, :]
    if causal:
        mask = mask & torch.ones(lq, lk, dtype=torch.bool, device=device).tril()
    return mask, False


class MultiheadAttention(nn.Module):
    """Multi-head attention over batch-first (N, L, E) tensors.

    ``inputs`` says how forward's positional arguments are read: 1 = self-attention (x), 2 =
    query and memory (keys = values), 3 = query, key, value; a padding input may follow.
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 kdim: Optional[int] = None, vdim: Optional[int] = None, inputs: int = 1,
                 padding: str = "none", causal: bool = False) -> None:
        super().__init__()
        self.embed_dim, self.num_heads, self.dropout = embed_dim, num_heads, dropout
        self.kdim, self.vdim = kdim or embed_dim, vdim or embed_dim
        self.packed = self.kdim == embed_dim and self.vdim == embed_dim
        if self.packed:
            self.in_proj_weight = nn.Parameter(torch.empty(3 * embed_dim, embed_dim))
        else:
            self.q_proj_weight = nn.Parameter(torch.empty(embed_dim, embed_dim))
            self.k_proj_weight = nn.Parameter(torch.empty(embed_dim, self.kdim))
            self.v_proj_weight = nn.Parameter(torch.empty(embed_dim, self.vdim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * embed_dim)) if bias else None
        self.out_proj = nn.Linear(embed_dim, embed_dim, bias=bias)
        self.inputs, self.padding, self.causal = inputs, padding, causal
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        for name in ("in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight"):
            if hasattr(self, name):
                nn.init.xavier_uniform_(getattr(self, name))
        if self.out_proj.bias is not None:
            nn.init.zeros_(self.out_proj.bias)

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        q = xs[0]
        k = xs[1] if self.inputs >= 2 else q
        v = xs[2] if self.inputs == 3 else k
        pad = xs[self.inputs] if self.padding != "none" else None
        return self.attention(q, k, v, valid_keys(self.padding, pad, k.shape[1]), self.causal)

    def _project(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor):
        e, b = self.embed_dim, self.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else b.chunk(3)
        if self.packed:
            if q is k and k is v:
                return F.linear(q, self.in_proj_weight, b).chunk(3, dim=-1)
            w = self.in_proj_weight
            return F.linear(q, w[:e], bq), F.linear(k, w[e:2 * e], bk), F.linear(v, w[2 * e:], bv)
        return (F.linear(q, self.q_proj_weight, bq), F.linear(k, self.k_proj_weight, bk),
                F.linear(v, self.v_proj_weight, bv))

    def attention(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, valid: Optional[torch.Tensor] = None,
                  causal: bool = False) -> torch.Tensor:
        """(N, Lq, E), (N, Lk, kdim), (N, Lk, vdim) -> (N, Lq, E)."""
        n, lq, lk, h = q.shape[0], q.shape[1], k.shape[1], self.num_heads
        q, k, v = self._project(q, k, v)
        q, k, v = (t.reshape(n, t.shape[1], h, -1).transpose(1, 2) for t in (q, k, v))
        mask, is_causal = sdpa_mask(valid, causal, lq, lk, q.device)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=is_causal,
                                             dropout_p=self.dropout if self.training else 0.0)
        return self.out_proj(out.transpose(1, 2).reshape(n, lq, self.embed_dim))

    def extra_repr(self) -> str:
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}, "
                f"inputs={self.inputs}, padding={self.padding}, causal={self.causal}")


class ScaledDotProductAttention(nn.Module):
    """softmax(q kᵀ · scale) v over (…, L, E) tensors, with no weights of its own."""

    def __init__(self, dropout_p: float, causal: bool, scale: Optional[float]) -> None:
        super().__init__()
        self.dropout_p, self.causal, self.scale = dropout_p, causal, scale

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return F.scaled_dot_product_attention(q, k, v, is_causal=self.causal, scale=self.scale,
                                              dropout_p=self.dropout_p if self.training else 0.0)

    def extra_repr(self) -> str:
        return f"dropout_p={self.dropout_p}, causal={self.causal}, scale={self.scale}"


class _Seq2SeqAttention(nn.Module):
    """Attention of a decoder query over encoder states (keys = values): a context vector per
    query, and optionally the weights."""

    def __init__(self, padding: str, return_weights: bool) -> None:
        super().__init__()
        self.padding, self.return_weights = padding, return_weights

    def scores(self, q: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, query: torch.Tensor, keys: torch.Tensor, *pad: torch.Tensor):
        vector = query.dim() == 2
        q = query.unsqueeze(1) if vector else query  # (N, Lq, Hq)
        scores = self.scores(q, keys)  # (N, Lq, L)
        valid = valid_keys(self.padding, pad[0] if pad else None, keys.shape[1])
        if valid is not None:
            scores = scores.masked_fill(~valid[:, None, :], float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        context = torch.bmm(weights, keys)
        if vector:
            context, weights = context.squeeze(1), weights.squeeze(1)
        return (context, weights) if self.return_weights else context


class AdditiveAttention(_Seq2SeqAttention):
    """Bahdanau et al. (2015): score(s, h) = vᵀ tanh(W s + U h + b)."""

    def __init__(self, query_size: int, key_size: int, attention_size: int, bias: bool, padding: str,
                 return_weights: bool) -> None:
        super().__init__(padding, return_weights)
        self.query_proj = nn.Linear(query_size, attention_size, bias=False)
        self.key_proj = nn.Linear(key_size, attention_size, bias=bias)
        self.v = nn.Linear(attention_size, 1, bias=False)

    def scores(self, q: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        hidden = torch.tanh(self.query_proj(q).unsqueeze(2) + self.key_proj(keys).unsqueeze(1))
        return self.v(hidden).squeeze(-1)


class LuongAttention(_Seq2SeqAttention):
    """Luong et al. (2015): score(s, h) = sᵀh (dot) or sᵀ W h (general)."""

    def __init__(self, query_size: int, key_size: int, score: str, padding: str, return_weights: bool) -> None:
        super().__init__(padding, return_weights)
        self.score = score
        if score == "general":
            self.weight = nn.Parameter(torch.empty(query_size, key_size))
            nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))

    def scores(self, q: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        if self.score == "general":
            keys = F.linear(keys, self.weight)
        return torch.bmm(q, keys.transpose(1, 2))
