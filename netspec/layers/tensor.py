"""Tensor operations without weights: chunk, select, slice, reductions, matmul, squeeze,
unsqueeze, transpose. ``dim`` follows PyTorch: the batch is dim 0, per-sample dims start at 1,
negative dims count from the end."""

import math
from typing import TYPE_CHECKING, ClassVar, Optional, Sequence, Union

from pydantic import Field

from ..errors import ShapeError
from ..limits import MAX_OUTPUTS
from ..strict import PositiveInt
from .base import Example, Layer
from .merge import broadcast
from .registry import register
from .shapes import Dim, Shape, fmt_shape, normalize_dim, numel

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn


def _axis(dim: int, x: Shape) -> int:
    """``normalize_dim`` with the input shape in the message."""
    try:
        return normalize_dim(dim, len(x))
    except ShapeError as exc:
        raise ShapeError(f"{exc.message}, got {fmt_shape(x)}",
                         hint=exc.hint or "dims follow PyTorch: 1 is the first per-sample dim, −1 the last") from None


class _SameDtype(Layer):
    """Rearranging layers pass any dtype through."""

    family = "tensor"
    input_dtypes = None

    def output_dtype(self, *dtypes: str) -> str:
        return dtypes[0]


@register
class Chunk(_SameDtype):
    """S → (S₁, …, S_chunks): cuts `dim` into `chunks` pieces (the last may be smaller), addressed as `name.0`, `name.1`, …"""

    tag = "chunk"
    examples = (Example({"chunks": 2}, ((8,),)), Example({"chunks": 3, "dim": -1}, ((4, 7),)))
    bad_inputs = ((("seq",),), ((1,),))

    chunks: PositiveInt = Field(description="Number of pieces.")
    dim: int = Field(1, description="Dim to cut (PyTorch convention: 1 = first per-sample dim).")

    def output_shapes(self, x: Shape) -> list[Shape]:
        axis = _axis(self.dim, x)
        size = x[axis]
        if not isinstance(size, int):
            raise ShapeError(f"cannot chunk the symbolic dim {size!r}", hint="chunk a dim of fixed size")
        if self.chunks > MAX_OUTPUTS:
            raise ShapeError(f"{self.chunks:,} chunks are more than {MAX_OUTPUTS:,} outputs", hint="cut into fewer pieces")
        step = -(-size // self.chunks)  # integer ceil: sizes may exceed a float's precision
        pieces = [min(step, size - i) for i in range(0, size, step)]
        if len(pieces) != self.chunks:
            raise ShapeError(f"a dim of size {size} does not cut into {self.chunks} chunks (got {len(pieces)})",
                             hint="choose chunks that divides the size, or use `split` with explicit sizes")
        return [x[:axis] + (n,) + x[axis + 1:] for n in pieces]

    def build(self, x: Shape) -> "nn.Module":
        from ..nn.tensor import Chunk as Module

        return Module(self.chunks, self.dim)


@register
class Select(_SameDtype):
    """(…, n, …) → (…, …): picks one `index` along `dim` and drops that dim (the CLS token: dim 1, index 0; the last step: index −1)."""

    tag = "select"
    examples = (Example({"index": 0}, ((5, 4),)), Example({"dim": -1, "index": -1}, (("seq", 3),)),
                Example({"dim": 2, "index": 1}, ((3, 4, 2),)))
    bad_inputs = (((0, 4),), ((),))

    dim: int = Field(1, description="Dim to index (PyTorch convention: 1 = first per-sample dim, e.g. the sequence).")
    index: int = Field(description="Position along dim; negative counts from the end (−1 = last).")

    def output_shape(self, x: Shape) -> Shape:
        axis = _axis(self.dim, x)
        size = x[axis]
        if isinstance(size, int) and not -size <= self.index < size:
            raise ShapeError(f"index {self.index} is out of range for dim {self.dim} of size {size}, got {fmt_shape(x)}")
        return x[:axis] + x[axis + 1:]

    def build(self, x: Shape) -> "nn.Module":
        from ..nn.tensor import Select as Module

        return Module(self.dim, self.index)


@register
class Slice(_SameDtype):
    """(…, n, …) → (…, n′, …): keeps positions start:end:step along `dim` (Python slice rules)."""

    tag = "slice"
    examples = (Example({"start": 1}, ((5, 4),)), Example({"dim": -1, "start": 0, "end": 2}, ((3, 6),)),
                Example({"start": 1, "end": -1, "step": 2}, ((9,),)), Example({"start": 1}, (("seq", 3),)),
                Example({"start": -2}, (("seq",),)))
    bad_inputs = (((1, 4),), ((0,),))

    dim: int = Field(1, description="Dim to slice (PyTorch convention: 1 = first per-sample dim).")
    start: int = Field(0, description="First position kept; negative counts from the end.")
    end: Optional[int] = Field(None, description="Position after the last one kept (null: to the end).")
    step: PositiveInt = Field(1, description="Keep every step-th position.")

    def output_shape(self, x: Shape) -> Shape:
        axis = _axis(self.dim, x)
        size = self._length(x[axis])
        if isinstance(size, int) and size == 0:
            raise ShapeError(f"slice {self.start}:{self.end}:{self.step} of dim {self.dim} keeps nothing, got {fmt_shape(x)}")
        return x[:axis] + (size,) + x[axis + 1:]

    def _length(self, size: Dim) -> Dim:
        if isinstance(size, int):
            return len(range(size)[self.start:self.end:self.step])
        start, end = self.start, self.end
        if self.step != 1:
            return f"{size}'"
        if start < 0 and (end is None or end < 0):
            return (end or 0) - start
        if start >= 0 and end is not None and end >= 0:
            return max(end - start, 0)
        drop = start - (end or 0)
        return f"{size}-{drop}" if drop else size

    def build(self, x: Shape) -> "nn.Module":
        from ..nn.tensor import Slice as Module

        return Module(self.dim, self.start, self.end, self.step)


class Reduction(Layer):
    family = "tensor"
    op: ClassVar[str]
    examples = (Example({"dim": 1}, ((5, 4),)), Example({"dim": [-2, -1], "keepdim": True}, ((3, 4, 5),)),
                Example({"dim": 1}, (("seq", 6),)))
    bad_inputs = (((),),)

    dim: Union[int, list[int]] = Field(description="Dim(s) to reduce (PyTorch convention: 1 = first per-sample dim).")
    keepdim: bool = Field(False, description="Keep reduced dims with size 1.")

    def _axes(self, x: Shape) -> list[int]:
        if not x:
            raise ShapeError(f"has no per-sample dim to reduce, got {fmt_shape(x)}")
        dims = [self.dim] if isinstance(self.dim, int) else self.dim
        axes = [_axis(d, x) for d in dims]
        if len(set(axes)) != len(axes) or not axes:
            raise ShapeError(f"dims {self.dim} name a dim twice (or none)")
        return axes

    def output_shape(self, x: Shape) -> Shape:
        axes = self._axes(x)
        if self.keepdim:
            return tuple(1 if i in axes else d for i, d in enumerate(x))
        return tuple(d for i, d in enumerate(x) if i not in axes)

    def flops(self, inputs: Sequence[Shape], outputs: Sequence[Shape]) -> int:
        n = numel(inputs[0])
        return n if isinstance(n, int) else 0

    def build(self, x: Shape) -> "nn.Module":
        from ..nn.tensor import Reduce

        return Reduce(self.op, self.dim, self.keepdim)


@register
class Mean(Reduction):
    """(…) → (…) without `dim`: the mean over the given dim(s) (e.g. average over the sequence)."""

    tag, op = "mean", "mean"


@register
class Sum(Reduction):
    """(…) → (…) without `dim`: the sum over the given dim(s)."""

    tag, op = "sum", "sum"


@register
class Max(Reduction):
    """(…) → (…) without `dim`: the maximum over the given dim(s) (max pooling over time)."""

    tag, op = "max", "amax"


@register
class Matmul(Layer):
    """(…, n, k), (…, k, m) → (…, n, m): per-sample matrix product (torch.matmul rules; a (k,) operand is a vector)."""

    tag = "matmul"
    family = "tensor"
    arity = (2, 2)
    examples = (Example({}, ((3, 4), (4, 5))), Example({}, ((6, 4), (4,))), Example({}, ((2, 3, 4), (4, 5))),
                Example({}, ((4,), (2, 4, 3))), Example({}, (("seq", 4), (4, "seq"))))
    bad_inputs = (((3, 4), (5, 6)), ((), (3,)))

    def output_shape(self, a: Shape, b: Shape) -> Shape:
        if not a or not b:
            raise ShapeError(f"needs operands with at least one per-sample dim, got {fmt_shape(a)} and {fmt_shape(b)}")
        ka, kb = a[-1], (b[0] if len(b) == 1 else b[-2])
        if ka != kb and isinstance(ka, int) and isinstance(kb, int):
            raise ShapeError(f"inner sizes differ: {fmt_shape(a)} @ {fmt_shape(b)} ({ka} vs {kb})",
                             hint="the last dim of the first operand must equal the second-to-last of the second")
        rows = a[-2:-1] if len(a) > 1 else ()
        cols = b[-1:] if len(b) > 1 else ()
        batch = broadcast([a[:-2], b[:-2]]) if len(a) > 2 or len(b) > 2 else ()
        return tuple(batch) + tuple(rows) + tuple(cols)

    def flops(self, inputs: Sequence[Shape], outputs: Sequence[Shape]) -> int:
        n = numel(outputs[0])
        k = inputs[0][-1]
        return 2 * n * k if isinstance(n, int) and isinstance(k, int) else 0

    def build(self, a: Shape, b: Shape) -> "nn.Module":
        from ..nn.tensor import Matmul as Module

        return Module(len(a), len(b))


@register
class Squeeze(_SameDtype):
    """(…, 1, …) → (…, …): removes `dim`, which must have size 1."""

    tag = "squeeze"
    examples = (Example({"dim": 1}, ((1, 4),)), Example({"dim": -1}, ((3, 1),)))
    bad_inputs = (((3, 4),),)

    dim: int = Field(description="Dim of size 1 to remove (PyTorch convention: 1 = first per-sample dim).")

    def output_shape(self, x: Shape) -> Shape:
        axis = _axis(self.dim, x)
        if x[axis] != 1:
            raise ShapeError(f"dim {self.dim} has size {x[axis]}, not 1, got {fmt_shape(x)}",
                             hint="squeeze removes only a dim of size 1; use `select` to pick one position")
        return x[:axis] + x[axis + 1:]

    def build(self, x: Shape) -> "nn.Module":
        from ..nn.tensor import Squeeze as Module

        return Module(self.dim)


@register
class Unsqueeze(_SameDtype):
    """(…) → (…, 1, …): inserts a dim of size 1 at `dim` (PyTorch convention, the batch is 0)."""

    tag = "unsqueeze"
    examples = (Example({"dim": 3}, ((3, 5),)), Example({"dim": 1}, ((4,),)), Example({"dim": -1}, ((3, 5),)))
    bad_inputs = (((3,),),)

    dim: int = Field(description="Position of the new dim in the result (1 = first per-sample dim, −1 = last).")

    def output_shape(self, x: Shape) -> Shape:
        full = len(x) + 2  # rank of the result, batch included
        if not -full <= self.dim < full or self.dim % full == 0:
            raise ShapeError(f"dim {self.dim} is not a per-sample position for a result of rank {full - 1}, got {fmt_shape(x)}",
                             hint=f"use 1..{full - 1}, or −1 for last")
        axis = self.dim % full - 1
        return x[:axis] + (1,) + x[axis:]

    def build(self, x: Shape) -> "nn.Module":
        from ..nn.tensor import Unsqueeze as Module

        return Module(self.dim)


@register
class Unflatten(_SameDtype):
    """(…, n, …) → (…, s₁, s₂, …, …): splits one dim into several (e.g. (L, 1000) → (L, 500, 2) for maxout pairs)."""

    tag = "unflatten"
    examples = (Example({"dim": -1, "sizes": [5, 2]}, ((3, 10),)), Example({"dim": 1, "sizes": [2, -1]}, ((8,),)),
                Example({"dim": -1, "sizes": [4, 2]}, (("seq", 8),)))
    bad_inputs = (((3, 9),),)

    dim: int = Field(description="Dim to split (PyTorch convention: 1 = first per-sample dim).")
    sizes: list[int] = Field(min_length=1, description="The new sizes; their product is the dim's size (one may be −1).")

    def output_shape(self, x: Shape) -> Shape:
        axis = _axis(self.dim, x)
        size = x[axis]
        known = math.prod(d for d in self.sizes if d != -1)
        if self.sizes.count(-1) > 1 or any(d == 0 or d < -1 for d in self.sizes):
            raise ShapeError(f"sizes {self.sizes}: use positive sizes and at most one −1")
        if not isinstance(size, int):
            if -1 not in self.sizes:
                raise ShapeError(f"cannot split the symbolic dim {size!r} without a −1 in sizes, got {fmt_shape(x)}")
            new: tuple[Dim, ...] = tuple(f"{size}/{known}" if d == -1 else d for d in self.sizes)
        elif size % known or (-1 not in self.sizes and known != size):
            raise ShapeError(f"sizes {self.sizes} do not multiply to dim {self.dim}'s size {size}, got {fmt_shape(x)}")
        else:
            new = tuple(size // known if d == -1 else d for d in self.sizes)
        return x[:axis] + new + x[axis + 1:]

    def build(self, x: Shape) -> "nn.Module":
        from torch import nn

        return nn.Unflatten(self.dim, tuple(self.sizes))


@register
class Transpose(_SameDtype):
    """(…, a, …, b, …) → (…, b, …, a, …): swaps two per-sample dims."""

    tag = "transpose"
    examples = (Example({"dim0": 1, "dim1": 2}, ((3, 5),)), Example({"dim0": -1, "dim1": -3}, ((2, 3, 4),)))
    bad_inputs = (((3,),),)

    dim0: int = Field(description="First dim (PyTorch convention: 1 = first per-sample dim).")
    dim1: int = Field(description="Second dim.")

    def output_shape(self, x: Shape) -> Shape:
        a, b = _axis(self.dim0, x), _axis(self.dim1, x)
        out = list(x)
        out[a], out[b] = out[b], out[a]
        return tuple(out)

    def build(self, x: Shape) -> "nn.Module":
        from ..nn.tensor import Transpose as Module

        return Module(self.dim0, self.dim1)
