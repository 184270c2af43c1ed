"""Transformer encoder and decoder layers (Vaswani et al., 2017), post-norm or pre-norm.

Parameters are named as in torch.nn.TransformerEncoderLayer / TransformerDecoderLayer, so a
netspec layer and a torch one exchange weights with ``load_state_dict``. d_model is the input's
feature size (inferred). A decoder-only model (GPT) is a stack of encoder layers with
``causal: true``.
"""

import math
from typing import TYPE_CHECKING, Any, ClassVar, Sequence

from pydantic import Field

from ..errors import ShapeError
from ..strict import PositiveFloat, PositiveInt, Probability
from .activation_ref import ActivationRef
from .attention import PADDING, Padding, check_padding, padding_dtype
from .base import BOOL, FLOAT, LONG, Example, Layer
from .registry import register
from .shapes import Dim, Shape, expect_rank, expect_static, fmt_shape

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn


def _n(d: Dim) -> int:
    return d if isinstance(d, int) else 1


class TransformerLayer(Layer):
    """Shared parameters and rules of the encoder and decoder layers."""

    family = "attention"
    input_dtypes = (FLOAT, LONG, BOOL)  # for the docs; input_dtypes_for gives each input's own
    sequences: ClassVar[int]  # sequence inputs before the padding input
    attentions: ClassVar[int]
    norms: ClassVar[int]

    nhead: PositiveInt = Field(description="Number of attention heads; must divide d_model (the input's feature size).")
    dim_feedforward: PositiveInt = Field(2048, description="Hidden size of the feed-forward network.")
    dropout: Probability = Field(0.1, description="Dropout on attention weights, sublayer outputs and the feed-forward hidden layer.")
    ffn_activation: ActivationRef = Field("relu", validate_default=True,
                                          description="Activation of the feed-forward network: relu, gelu, {gelu: {approximate: tanh}}, …")
    layer_norm_eps: PositiveFloat = Field(1e-5, description="Added to the variance in the layer norms.")
    norm_first: bool = Field(False, description="Pre-norm (x + f(norm(x)), GPT-2) instead of post-norm (norm(x + f(x)), "
                                                "the original and BERT).")
    bias: bool = Field(True, description="Learn biases in the linear layers and layer norms.")

    @property
    def _padding(self) -> str:
        raise NotImplementedError  # pragma: no cover

    def input_dtypes_for(self, count: int) -> list[tuple[str, ...] | None]:
        extra = [padding_dtype(self._padding)] if self._padding != "none" else []
        return ([(FLOAT,)] * self.sequences + extra + [None] * count)[:count]

    def _check(self, xs: Sequence[Shape]) -> int:
        want = self.sequences + (self._padding != "none")
        if len(xs) != want:
            names = ["input", "memory"][: self.sequences] + (["padding"] if self._padding != "none" else [])
            raise ShapeError(f"takes {want} input(s) ({', '.join(names)}), got {len(xs)}",
                             hint="the padding input comes with `key_padding` / `memory_key_padding`")
        for t in xs[: self.sequences]:
            expect_rank(t, 2, "a sequence of vectors (L, d_model)",
                        hint="token ids need an `embedding` first" if len(t) == 1 else None)
        d = expect_static(xs[0][1], "d_model")
        if d % self.nhead:
            raise ShapeError(f"nhead {self.nhead} does not divide d_model {d} (the input's feature size)",
                             hint="choose nhead that divides d_model")
        return d

    def output_shape(self, *xs: Shape) -> Shape:
        self._check(xs)
        return xs[0]

    def param_shapes(self, *xs: Shape) -> dict[str, tuple[int, ...]]:
        d, f = self._check(xs), self.dim_feedforward
        out: dict[str, tuple[int, ...]] = {}
        for attn in ("self_attn", "multihead_attn")[: self.attentions]:
            out[f"{attn}.in_proj_weight"] = (3 * d, d)
            out.update({f"{attn}.in_proj_bias": (3 * d,)} if self.bias else {})
            out[f"{attn}.out_proj.weight"] = (d, d)
            out.update({f"{attn}.out_proj.bias": (d,)} if self.bias else {})
        for name, shape in (("linear1", (f, d)), ("linear2", (d, f))):
            out[f"{name}.weight"] = shape
            out.update({f"{name}.bias": (shape[0],)} if self.bias else {})
        for k in range(1, self.norms + 1):
            out[f"norm{k}.weight"] = (d,)
            out.update({f"norm{k}.bias": (d,)} if self.bias else {})
        return out

    def num_params(self, *xs: Shape) -> int:
        n = sum(math.prod(s) for s in self.param_shapes(*xs).values())
        return n + self.ffn_activation.num_params((xs[0][0], self.dim_feedforward))

    def flops(self, inputs: Sequence[Shape], outputs: Sequence[Shape]) -> int:
        d, f, lq = int(inputs[0][1]), self.dim_feedforward, _n(inputs[0][0])
        lk = _n(inputs[1][0]) if self.sequences == 2 else lq
        attn = 2 * d * d * 4 * lq + 4 * lq * lq * d
        if self.attentions == 2:
            attn += 2 * d * d * (2 * lq + 2 * lk) + 4 * lq * lk * d
        return attn + 4 * lq * d * f + 5 * lq * d * self.norms

    def _module_args(self, xs: Sequence[Shape]) -> dict[str, Any]:
        return dict(d_model=int(xs[0][1]), nhead=self.nhead, dim_feedforward=self.dim_feedforward, dropout=self.dropout,
                    activation=self.ffn_activation.build((xs[0][0], self.dim_feedforward)),
                    layer_norm_eps=self.layer_norm_eps, norm_first=self.norm_first, bias=self.bias,
                    causal=self.causal, padding=self._padding)  # type: ignore[attr-defined]


@register
class TransformerEncoderLayer(TransformerLayer):
    """(L, D) [, padding] → (L, D): self-attention and a feed-forward network, each with a residual connection and layer norm.

    With `causal: true` a position attends only to itself and earlier ones (a GPT block). A key
    padding input (`key_padding: lengths` or `mask`) keeps padded positions from being attended to.
    """

    tag = "transformer_encoder_layer"
    sequences, attentions, norms = 1, 1, 2
    arity = (1, 2)
    examples = (
        Example({"nhead": 2, "dim_feedforward": 16}, ((5, 8),)),
        Example({"nhead": 4, "dim_feedforward": 32, "norm_first": True, "causal": True,
                 "ffn_activation": {"gelu": {"approximate": "tanh"}}, "dropout": 0.0}, (("seq", 8),)),
        Example({"nhead": 2, "dim_feedforward": 12, "key_padding": "lengths", "bias": False}, ((6, 4), ()),
                (FLOAT, LONG), (None, (1, 7))),
        Example({"nhead": 1, "dim_feedforward": 8, "key_padding": "mask", "causal": True}, ((5, 4), (5,)), (FLOAT, BOOL)),
    )
    bad_inputs = (((8,),), ((5, 7),), ((4, 5, 8),))

    causal: bool = Field(False, description="Position i attends only to positions ≤ i (decoder-only / GPT blocks).")
    key_padding: Padding = Field("none", description=PADDING)

    @property
    def _padding(self) -> str:
        return self.key_padding

    def output_shape(self, *xs: Shape) -> Shape:
        self._check(xs)
        if self.key_padding != "none":
            check_padding(self.key_padding, xs[-1], xs[0][0])
        return xs[0]

    def build(self, *xs: Shape) -> "nn.Module":
        from ..nn.transformer import TransformerEncoderLayer as Module

        return Module(**self._module_args(xs))


@register
class TransformerDecoderLayer(TransformerLayer):
    """(L, D), memory (S, D) [, memory padding] → (L, D): causal self-attention, cross-attention over the memory, feed-forward.

    Each sublayer has a residual connection and layer norm (post-norm, or pre-norm with
    `norm_first`). `memory_key_padding` adds a padding input for the memory (the source sequence).
    """

    tag = "transformer_decoder_layer"
    sequences, attentions, norms = 2, 2, 3
    arity = (2, 3)
    examples = (
        Example({"nhead": 2, "dim_feedforward": 16}, ((5, 8), (7, 8))),
        Example({"nhead": 2, "dim_feedforward": 16, "norm_first": True, "memory_key_padding": "lengths", "causal": False},
                (("seq", 4), (6, 4), ()), (FLOAT, FLOAT, LONG), (None, None, (1, 7))),
    )
    bad_inputs = (((5, 8), (7, 6)), ((5,), (7, 8)))

    causal: bool = Field(True, description="Target position i attends only to target positions ≤ i (on by default).")
    memory_key_padding: Padding = Field("none", description="Padding input for the memory: " + PADDING)

    @property
    def _padding(self) -> str:
        return self.memory_key_padding

    def output_shape(self, *xs: Shape) -> Shape:
        d = self._check(xs)
        if xs[1][1] != d:
            raise ShapeError(f"the memory's feature size must equal d_model {d}, got {fmt_shape(xs[1])}",
                             hint="project the encoder output to d_model with a `linear` first")
        if self.memory_key_padding != "none":
            check_padding(self.memory_key_padding, xs[-1], xs[1][0])
        return xs[0]

    def build(self, *xs: Shape) -> "nn.Module":
        from ..nn.transformer import TransformerDecoderLayer as Module

        return Module(**self._module_args(xs))

