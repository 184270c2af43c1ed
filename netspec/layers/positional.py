"""Position information for attention models, added to a sequence of vectors."""

from typing import TYPE_CHECKING, Literal, Optional, Sequence

from pydantic import Field, model_validator

from ..errors import ShapeError
from ..strict import PositiveInt
from .base import Example, Layer
from .registry import register
from .shapes import Shape, expect_rank, expect_static, fmt_shape, numel

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn


@register
class PositionalEncoding(Layer):
    """(L, D) → (L, D): adds a vector per position: fixed sinusoids (Vaswani et al., 2017) or a learned table (BERT, GPT-2).

    Sinusoidal: PE[p, 2i] = sin(p / 10000^(2i/D)), PE[p, 2i+1] = cos(p / 10000^(2i/D)), computed
    for any length (`max_len` optional). Learned: a (max_len, D) parameter named `weight`, row p
    added at position p; L must not exceed max_len.
    """

    tag = "positional_encoding"
    family = "positional"
    examples = (
        Example({}, ((6, 8),)),
        Example({"encoding": "learned", "max_len": 16}, (("seq", 4),)),
        Example({"encoding": "sinusoidal", "scale_input": True, "max_len": 10}, ((5, 7),)),
    )
    bad_inputs = (((8,),), ((3, 6, 8),))

    encoding: Literal["sinusoidal", "learned"] = Field("sinusoidal", description="`sinusoidal` (fixed) or `learned` (a max_len × D table).")
    max_len: Optional[PositiveInt] = Field(None, description="Longest sequence (required for `learned`).")
    scale_input: bool = Field(False, description="Multiply the input by √D before adding (as in Vaswani et al.).")

    @model_validator(mode="after")
    def _learned_needs_max_len(self) -> "PositionalEncoding":
        if self.encoding == "learned" and self.max_len is None:
            raise ValueError("a learned positional encoding needs max_len (the number of positions it learns)")
        return self

    def output_shape(self, x: Shape) -> Shape:
        expect_rank(x, 2, "a sequence of vectors (L, D)", hint="token ids need an `embedding` first" if len(x) == 1 else None)
        expect_static(x[1], "feature size")
        if self.max_len is not None and isinstance(x[0], int) and x[0] > self.max_len:
            raise ShapeError(f"the sequence has {x[0]} positions, more than max_len {self.max_len}, got {fmt_shape(x)}",
                             hint="raise max_len or shorten the sequence")
        return x

    def param_shapes(self, x: Shape) -> dict[str, tuple[int, ...]]:
        return {"weight": (self.max_len, int(x[1]))} if self.encoding == "learned" else {}  # type: ignore[dict-item]

    def num_params(self, x: Shape) -> int:
        return self.max_len * int(x[1]) if self.encoding == "learned" else 0  # type: ignore[operator]

    def flops(self, inputs: Sequence[Shape], outputs: Sequence[Shape]) -> int:
        n = numel(inputs[0])
        return (n * (2 if self.scale_input else 1)) if isinstance(n, int) else 0

    def build(self, x: Shape) -> "nn.Module":
        from ..nn.positional import PositionalEncoding as Module

        return Module(int(x[1]), self.encoding, self.max_len, self.scale_input)
