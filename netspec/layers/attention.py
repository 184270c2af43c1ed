"""Attention layers: multi-head attention (self and cross), scaled dot-product attention, and the
additive (Bahdanau) and dot/general (Luong) attention of RNN encoder–decoders.

Key padding: with ``key_padding: lengths`` the last input is int64 lengths, shape () per sample
(keys at positions ≥ length are ignored); with ``key_padding: mask`` it is a bool mask (Lk,) that is
True at padding (PyTorch's ``key_padding_mask`` convention).
"""

from typing import TYPE_CHECKING, Literal, Optional, Sequence

from pydantic import Field

from ..errors import ShapeError
from ..strict import PositiveFloat, PositiveInt, Probability
from .base import BOOL, FLOAT, LONG, Example, Layer
from .registry import register
from .shapes import Dim, Shape, expect_rank, expect_static, fmt_shape

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn

Padding = Literal["none", "lengths", "mask"]
PADDING = ("Key padding input, after the others: `lengths` (int64, shape ()) or `mask` (bool (Lk,), "
           "True at padding); `none` for no padding input.")


def _n(d: Dim) -> int:
    return d if isinstance(d, int) else 1


def check_padding(kind: str, shape: Shape, keys: Dim) -> None:
    """The key padding input's per-sample shape: () for lengths, (Lk,) for a mask."""
    want: Shape = () if kind == "lengths" else (keys,)
    if tuple(shape) != want and not (kind == "mask" and len(shape) == 1 and not isinstance(keys, int)):
        raise ShapeError(f"expects the key padding {kind} as {fmt_shape(want)} per sample, got {fmt_shape(shape)}",
                         hint="lengths: one int64 per sample (`shape: []`); mask: one bool per key position")


def padding_dtype(kind: str) -> tuple[str, ...]:
    return (LONG,) if kind == "lengths" else (BOOL,)


def same_length(a: Dim, b: Dim, what: str) -> None:
    if a != b and isinstance(a, int) and isinstance(b, int):
        raise ShapeError(f"{what}: got {a} and {b}")


class _KeyPadding(Layer):
    """Layers whose last input may be a key padding input."""

    input_dtypes = (FLOAT, LONG, BOOL)  # for the docs; input_dtypes_for gives each input's own

    key_padding: Padding = Field("none", description=PADDING)

    @property
    def _pad(self) -> int:
        return 0 if self.key_padding == "none" else 1

    def input_dtypes_for(self, count: int) -> list[tuple[str, ...] | None]:
        dtypes: list[tuple[str, ...] | None] = [(FLOAT,)] * (count - self._pad)
        return dtypes + ([padding_dtype(self.key_padding)] if self._pad and count else [])


@register
class MultiheadAttention(_KeyPadding):
    """(Lq, E) [, (Lk, Ek), (Lk, Ev)] → (Lq, E): multi-head attention; one input attends to itself, two are query and memory, three are query, key, value.

    E (embed_dim) is the query's feature size and `num_heads` must divide it. Computed with
    torch's scaled_dot_product_attention; parameters are named as in torch.nn.MultiheadAttention.
    """  # noqa: E501 (the contract line)

    tag = "multihead_attention"
    family = "attention"
    arity = (1, 4)
    examples = (
        Example({"num_heads": 2}, ((5, 8),)),
        Example({"num_heads": 4, "causal": True, "key_padding": "lengths"}, (("seq", 8), ()), (FLOAT, LONG), (None, (1, 8))),
        Example({"num_heads": 2, "bias": False}, ((3, 8), (6, 8))),
        Example({"num_heads": 2, "key_padding": "mask"}, ((3, 4), (5, 6), (5, 10), (5,)), (FLOAT, FLOAT, FLOAT, BOOL)),
    )
    bad_inputs = (((5,),), ((5, 7),), ((3, 8), (4, 6), (5, 6)))

    num_heads: PositiveInt = Field(description="Number of parallel heads; must divide the query's feature size.")
    dropout: Probability = Field(0.0, description="Dropout on the attention weights (training only).")
    bias: bool = Field(True, description="Learn biases in the input and output projections.")
    causal: bool = Field(False, description="Position i attends only to positions ≤ i (decoder self-attention).")

    def _roles(self, xs: Sequence[Shape]) -> tuple[Shape, Shape, Shape]:
        n = len(xs) - self._pad
        if n not in (1, 2, 3):
            raise ShapeError(f"takes 1 to 3 inputs (query[, key[, value]]) plus the padding input, got {len(xs)}")
        q = xs[0]
        k = xs[1] if n >= 2 else q
        v = xs[2] if n == 3 else k
        return q, k, v

    def output_shape(self, *xs: Shape) -> Shape:
        q, k, v = self._roles(xs)
        for what, t in (("query", q), ("key", k), ("value", v)):
            expect_rank(t, 2, f"a {what} sequence (L, E)", hint="token ids need an `embedding` first" if len(t) == 1 else None)
            expect_static(t[1], f"{what} feature size")
        embed_dim = q[1]
        if embed_dim % self.num_heads:
            raise ShapeError(f"num_heads {self.num_heads} does not divide embed_dim {embed_dim} (the query's feature size)",
                             hint="choose num_heads that divides embed_dim, e.g. " + ", ".join(
                                 str(h) for h in range(1, 17) if embed_dim % h == 0))
        same_length(k[0], v[0], "key and value have different lengths")
        if self._pad:
            check_padding(self.key_padding, xs[-1], k[0])
        return q

    def param_shapes(self, *xs: Shape) -> dict[str, tuple[int, ...]]:
        q, k, v = self._roles(xs)
        e, ek, ev = int(q[1]), int(k[1]), int(v[1])
        out: dict[str, tuple[int, ...]] = {}
        if ek == e and ev == e:
            out["in_proj_weight"] = (3 * e, e)
        else:
            out.update(q_proj_weight=(e, e), k_proj_weight=(e, ek), v_proj_weight=(e, ev))
        if self.bias:
            out["in_proj_bias"] = (3 * e,)
        out["out_proj.weight"] = (e, e)
        if self.bias:
            out["out_proj.bias"] = (e,)
        return out

    def num_params(self, *xs: Shape) -> int:
        return sum(_numel(s) for s in self.param_shapes(*xs).values())

    def flops(self, inputs: Sequence[Shape], outputs: Sequence[Shape]) -> int:
        q, k, v = self._roles(inputs)
        lq, lk, e = _n(q[0]), _n(k[0]), int(q[1])
        projections = 2 * e * (lq * e + lk * int(k[1]) + lk * int(v[1]) + lq * e)
        return projections + 4 * lq * lk * e

    def build(self, *xs: Shape) -> "nn.Module":
        from ..nn.attention import MultiheadAttention as Module

        q, k, v = self._roles(xs)
        return Module(int(q[1]), self.num_heads, dropout=self.dropout, bias=self.bias, kdim=int(k[1]), vdim=int(v[1]),
                      inputs=len(xs) - self._pad, padding=self.key_padding, causal=self.causal)


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


@register
class ScaledDotProductAttention(Layer):
    """(…, Lq, E), (…, Lk, E), (…, Lk, Ev) → (…, Lq, Ev): softmax(q kᵀ · scale) v, without weights (torch's scaled_dot_product_attention)."""  # noqa: E501 (the contract line)

    tag = "scaled_dot_product_attention"
    family = "attention"
    arity = (3, 3)
    examples = (
        Example({}, ((5, 8), (6, 8), (6, 4))),
        Example({"causal": True, "scale": 0.5}, ((2, "seq", 4), (2, "seq", 4), (2, "seq", 4))),
    )
    bad_inputs = (((5, 8), (6, 7), (6, 4)), ((8,), (8,), (8,)))

    causal: bool = Field(False, description="Query i attends only to keys ≤ i (a lower-triangular mask).")
    dropout_p: Probability = Field(0.0, description="Dropout on the attention weights (training only).")
    scale: Optional[PositiveFloat] = Field(None, description="Score scale; default 1/√E.")

    def output_shape(self, q: Shape, k: Shape, v: Shape) -> Shape:
        for what, t in (("query", q), ("key", k), ("value", v)):
            expect_rank(t, range(2, 8), f"a {what} (…, L, E)")
        if not (len(q) == len(k) == len(v)) or q[:-2] != k[:-2] or k[:-2] != v[:-2]:
            raise ShapeError(f"query, key and value need the same leading dims, got {fmt_shape(q)}, {fmt_shape(k)}, {fmt_shape(v)}")
        same_length(q[-1], k[-1], "query and key feature sizes differ")
        same_length(k[-2], v[-2], "key and value lengths differ")
        return q[:-1] + (v[-1],)

    def flops(self, inputs: Sequence[Shape], outputs: Sequence[Shape]) -> int:
        q, k, v = inputs
        lead = _numel(tuple(_n(d) for d in q[:-2]))
        return 2 * lead * _n(q[-2]) * _n(k[-2]) * (_n(q[-1]) + _n(v[-1]))

    def build(self, q: Shape, k: Shape, v: Shape) -> "nn.Module":
        from ..nn.attention import ScaledDotProductAttention as Module

        return Module(self.dropout_p, self.causal, self.scale)


class Seq2SeqAttention(_KeyPadding):
    """Shared rules of additive and Luong attention: a decoder query over encoder states."""

    family = "attention"
    arity = (2, 3)

    return_weights: bool = Field(False, description="Also output the attention weights (second output `weights`).")

    @property
    def output_names(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("context", "weights") if self.return_weights else ("context",)

    def _check(self, xs: Sequence[Shape]) -> tuple[Shape, Shape]:
        if len(xs) != 2 + self._pad:
            raise ShapeError(f"takes the query and the encoder states{' and the padding input' if self._pad else ''}, "
                             f"got {len(xs)} inputs", hint="`key_padding` adds a padding input")
        query, keys = xs[0], xs[1]
        expect_rank(query, (1, 2), "a query (H,) or a sequence of queries (Lq, H)")
        expect_rank(keys, 2, "encoder states (L, H)")
        expect_static(query[-1], "query size")
        expect_static(keys[-1], "encoder state size")
        if self._pad:
            check_padding(self.key_padding, xs[-1], keys[0])
        return query, keys

    def output_shapes(self, *xs: Shape) -> list[Shape]:
        query, keys = self._check(xs)
        lead = query[:-1]
        return [lead + (keys[1],)] + ([lead + (keys[0],)] if self.return_weights else [])

    def num_params(self, *xs: Shape) -> int:
        return sum(_numel(s) for s in (self.param_shapes(*xs) or {}).values())


@register
class AdditiveAttention(Seq2SeqAttention):
    """(H,) or (Lq, H), (L, He) → context (He,) or (Lq, He) [, weights (L,) or (Lq, L)]: Bahdanau attention, score = vᵀ tanh(W q + U h + b).

    The context is the weighted sum of the encoder states, weights = softmax over L of the scores.
    """

    tag = "additive_attention"
    examples = (
        Example({"attention_dim": 6}, ((4,), (5, 3))),
        Example({"attention_dim": 6, "return_weights": True, "key_padding": "lengths"},
                ((3, 4), ("seq", 5), ()), (FLOAT, FLOAT, LONG), (None, None, (1, 8))),
        Example({"attention_dim": 2, "bias": False, "key_padding": "mask"}, ((4,), (6, 3), (6,)), (FLOAT, FLOAT, BOOL)),
    )
    bad_inputs = (((4, 3, 2), (5, 3)), ((4,), (5,)))

    attention_dim: PositiveInt = Field(description="Size of the score network's hidden layer.")
    bias: bool = Field(True, description="Learn the score network's bias b.")

    def param_shapes(self, *xs: Shape) -> dict[str, tuple[int, ...]]:
        query, keys = self._check(xs)
        a = self.attention_dim
        out: dict[str, tuple[int, ...]] = {"query_proj.weight": (a, int(query[-1])), "key_proj.weight": (a, int(keys[-1]))}
        if self.bias:
            out["key_proj.bias"] = (a,)
        out["v.weight"] = (1, a)
        return out

    def flops(self, inputs: Sequence[Shape], outputs: Sequence[Shape]) -> int:
        query, keys = inputs[0], inputs[1]
        lq, lk, a = _n(query[0]) if len(query) == 2 else 1, _n(keys[0]), self.attention_dim
        return 2 * a * (lq * int(query[-1]) + lk * int(keys[-1])) + 2 * lq * lk * a + 2 * lq * lk * int(keys[-1])

    def build(self, *xs: Shape) -> "nn.Module":
        from ..nn.attention import AdditiveAttention as Module

        query, keys = xs[0], xs[1]
        return Module(int(query[-1]), int(keys[-1]), self.attention_dim, self.bias, self.key_padding, self.return_weights)


@register
class LuongAttention(Seq2SeqAttention):
    """(H,) or (Lq, H), (L, He) → context (He,) or (Lq, He) [, weights]: Luong attention, score = qᵀh (dot) or qᵀ W h (general)."""

    tag = "luong_attention"
    examples = (
        Example({}, ((4,), (5, 4))),
        Example({"score": "general", "return_weights": True}, ((3, 4), ("seq", 6))),
        Example({"score": "general", "key_padding": "lengths"}, ((4,), (6, 5), ()), (FLOAT, FLOAT, LONG), (None, None, (1, 7))),
    )
    bad_inputs = (((4,), (5, 6)), ((4,), (4,)))

    score: Literal["dot", "general"] = Field("dot", description="`dot`: qᵀh (equal sizes); `general`: qᵀ W h with a learned W.")

    def output_shapes(self, *xs: Shape) -> list[Shape]:
        query, keys = self._check(xs)
        if self.score == "dot" and query[-1] != keys[-1]:
            raise ShapeError(f"dot scores need equal query and encoder state sizes, got {query[-1]} and {keys[-1]}",
                             hint="use `score: general` to learn a map between the sizes")
        return super().output_shapes(*xs)

    def param_shapes(self, *xs: Shape) -> dict[str, tuple[int, ...]]:
        query, keys = self._check(xs)
        return {"weight": (int(query[-1]), int(keys[-1]))} if self.score == "general" else {}

    def flops(self, inputs: Sequence[Shape], outputs: Sequence[Shape]) -> int:
        query, keys = inputs[0], inputs[1]
        lq, lk = _n(query[0]) if len(query) == 2 else 1, _n(keys[0])
        general = 2 * lk * int(query[-1]) * int(keys[-1]) if self.score == "general" else 0
        return general + 2 * lq * lk * int(query[-1]) + 2 * lq * lk * int(keys[-1])

    def build(self, *xs: Shape) -> "nn.Module":
        from ..nn.attention import LuongAttention as Module

        query, keys = xs[0], xs[1]
        return Module(int(query[-1]), int(keys[-1]), self.score, self.key_padding, self.return_weights)
