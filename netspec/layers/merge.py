"""Layers that join several inputs (add, multiply, concat) or split one into several outputs."""

from typing import TYPE_CHECKING, ClassVar, Sequence, Union

from pydantic import Field

from ..errors import ShapeError
from ..limits import MAX_OUTPUTS
from ..strict import PositiveInt
from .base import Example, Layer
from .registry import register
from .shapes import Dim, Shape, fmt_shape, normalize_dim, numel

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn


def broadcast(shapes: Sequence[Shape]) -> Shape:
    """Per-sample broadcasting (PyTorch rules): equal dims, or 1."""
    rank = max(len(s) for s in shapes)
    out: list[Dim] = []
    for axis in range(rank):
        dims = {s[axis - rank + len(s)] for s in shapes if axis - rank + len(s) >= 0} - {1}
        if len(dims) > 1:
            listed = ", ".join(fmt_shape(s) for s in shapes)
            raise ShapeError(f"inputs do not broadcast: {listed}",
                             hint="give the inputs equal shapes (a 1x1 conv or linear can match channels)")
        out.append(dims.pop() if dims else 1)
    return tuple(out)


class Elementwise(Layer):
    family = "merge"
    arity = (2, None)
    op: ClassVar[str]

    def output_shape(self, *xs: Shape) -> Shape:
        return broadcast(xs)

    def flops(self, inputs: Sequence[Shape], outputs: Sequence[Shape]) -> int:
        n = numel(outputs[0])
        return (len(inputs) - 1) * n if isinstance(n, int) else 0

    def build(self, *xs: Shape) -> "nn.Module":
        from ..nn.merge import Elementwise as Module

        return Module(self.op)


@register
class Add(Elementwise):
    """(S, S, …) → S: elementwise sum (residual connections); shapes broadcast."""

    tag, op = "add", "add"
    examples = (Example({}, ((8, 4, 4), (8, 4, 4))), Example({}, ((5, 6), (1, 6), (5, 6))))
    bad_inputs = (((8, 4, 4), (16, 4, 4)),)


@register
class Multiply(Elementwise):
    """(S, S, …) → S: elementwise product (gating, attention weights); shapes broadcast."""

    tag, op = "multiply", "mul"
    examples = (Example({}, ((8, 4, 4), (8, 1, 1))), Example({}, ((6,), (6,))))
    bad_inputs = (((3,), (4,)),)


@register
class Concat(Layer):
    """(S₁, S₂, …) → S: joins inputs along `dim` (PyTorch convention: 1 = channels/features)."""

    tag = "concat"
    family = "merge"
    arity = (2, None)
    examples = (Example({}, ((8, 4, 4), (16, 4, 4))), Example({"dim": -1}, (("seq", 3), ("seq", 5))))
    bad_inputs = (((8, 4, 4), (8, 5, 5)),)

    dim: int = Field(1, description="Dim to join along; 1 is the first per-sample dim (channels).")

    def output_shape(self, *xs: Shape) -> Shape:
        ranks = {len(x) for x in xs}
        if len(ranks) > 1:
            raise ShapeError("inputs have different ranks: " + ", ".join(fmt_shape(x) for x in xs))
        axis = normalize_dim(self.dim, len(xs[0]))
        for i in range(len(xs[0])):
            if i != axis and len({x[i] for x in xs}) > 1:
                raise ShapeError("inputs must agree on every dim except the one joined: " + ", ".join(fmt_shape(x) for x in xs),
                                 hint=f"dim {self.dim} is joined (PyTorch convention, batch = 0)")
        sizes = [x[axis] for x in xs]
        total: Dim = sum(sizes) if all(isinstance(s, int) for s in sizes) else "+".join(map(str, sizes))  # type: ignore[arg-type]
        return xs[0][:axis] + (total,) + xs[0][axis + 1:]

    def build(self, *xs: Shape) -> "nn.Module":
        from ..nn.merge import Concat as Module

        return Module(self.dim)


@register
class Split(Layer):
    """S → (S₁, S₂, …): splits along `dim` into pieces addressed as `name.0`, `name.1`, …"""

    tag = "split"
    family = "merge"
    input_dtypes = None
    examples = (Example({"split_size_or_sections": 4}, ((8, 3),)), Example({"split_size_or_sections": [2, 6], "dim": -1}, ((3, 8),)))
    bad_inputs = ((("seq",),),)

    split_size_or_sections: Union[PositiveInt, list[PositiveInt]] = Field(
        description="Size of each piece, or a list of piece sizes that add up to the dim's size.")
    dim: int = Field(1, description="Dim to split (PyTorch convention: 1 = first per-sample dim).")

    def _sizes(self, x: Shape) -> list[int]:
        axis = normalize_dim(self.dim, len(x))
        size = x[axis]
        if not isinstance(size, int):
            raise ShapeError(f"cannot split the symbolic dim {size!r}", hint="split a dim of fixed size")
        if isinstance(self.split_size_or_sections, int):
            k = self.split_size_or_sections
            if -(-size // k) > MAX_OUTPUTS:
                raise ShapeError(f"splitting a dim of size {size:,} into pieces of {k} gives more than {MAX_OUTPUTS:,} outputs",
                                 hint="split into fewer, larger pieces")
            return [min(k, size - i) for i in range(0, size, k)]
        if sum(self.split_size_or_sections) != size:
            raise ShapeError(f"sections {self.split_size_or_sections} add up to {sum(self.split_size_or_sections)}, "
                             f"but dim {self.dim} has size {size}")
        return list(self.split_size_or_sections)

    def output_shapes(self, x: Shape) -> list[Shape]:
        axis = normalize_dim(self.dim, len(x))
        return [x[:axis] + (n,) + x[axis + 1:] for n in self._sizes(x)]

    def output_dtype(self, *dtypes: str) -> str:
        return dtypes[0]

    def build(self, x: Shape) -> "nn.Module":
        from ..nn.merge import Split as Module

        return Module(self.split_size_or_sections, self.dim)
