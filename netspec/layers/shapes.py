"""Per-sample shape arithmetic in plain Python (no torch).

A dimension is an ``int`` or a symbol (``str``): a named sequence length such as ``"seq"``, or an
expression derived from one (``"seq*64"``). Rules that cannot say anything about a symbolic
dimension keep it symbolic instead of guessing.
"""

import math
from typing import Sequence, Union

from ..errors import ShapeError

Dim = Union[int, str]
Shape = tuple[Dim, ...]


def fmt_shape(shape: Sequence[Dim]) -> str:
    inner = ", ".join(str(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def is_static(*dims: Dim) -> bool:
    return all(isinstance(d, int) for d in dims)


def numel(shape: Sequence[Dim]) -> Dim:
    """Product of the dims; symbolic if any dim is symbolic."""
    static = math.prod(d for d in shape if isinstance(d, int))
    symbols = [d for d in shape if not isinstance(d, int)]
    if not symbols:
        return static
    parts = symbols + ([str(static)] if static != 1 else [])
    return "*".join(parts)


def expect_rank(shape: Shape, ranks: int | Sequence[int], layout: str, hint: str | None = None) -> None:
    """Raise a ShapeError unless ``len(shape)`` is one of ``ranks``."""
    allowed = (ranks,) if isinstance(ranks, int) else tuple(ranks)
    if len(shape) not in allowed:
        raise ShapeError(f"expects {layout}, got {fmt_shape(shape)}", hint=hint or rank_hint(shape, allowed))


def rank_hint(shape: Shape, allowed: Sequence[int]) -> str | None:
    if len(shape) > max(allowed) and max(allowed) == 1:
        return "add `- flatten` before it"
    if len(shape) > max(allowed):
        return "reduce the rank first (flatten, a pooling layer, or a reshape)"
    if len(shape) < min(allowed):
        return "add a `reshape` (or `unsqueeze`) before it to add the missing dimensions"
    return None


def expect_static(dim: Dim, what: str) -> int:
    if not isinstance(dim, int):
        raise ShapeError(f"needs a fixed {what}, got the symbolic size {dim!r}",
                         hint="symbolic sizes are for sequence lengths; the feature/channel size must be a number")
    return dim


def conv_out(size: Dim, kernel: int, stride: int, padding: int, dilation: int = 1, ceil_mode: bool = False) -> Dim:
    """Output length of a convolution or pooling window along one axis."""
    if not isinstance(size, int):
        if stride == 1 and 2 * padding == dilation * (kernel - 1):
            return size
        return f"{size}'"
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    if span < 0:
        raise ShapeError(
            f"window of size {dilation * (kernel - 1) + 1} does not fit an axis of size {size} "
            f"with padding {padding}",
            hint="use a smaller kernel_size, more padding, or padding: same",
        )
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def conv_transpose_out(size: Dim, kernel: int, stride: int, padding: int, output_padding: int, dilation: int) -> Dim:
    if not isinstance(size, int):
        return f"{size}'"
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


def normalize_dim(dim: int, rank: int) -> int:
    """A PyTorch-convention ``dim`` (0 is the batch) -> an index into the per-sample shape."""
    full = rank + 1
    if not -full <= dim < full:
        raise ShapeError(f"dim {dim} is out of range for a {rank}-d sample (batch included: {full}-d)")
    d = dim % full
    if d == 0:
        raise ShapeError("dim 0 is the batch dimension", hint="per-sample dims start at 1 (or count from the end with -1)")
    return d - 1


def tuple_n(value: int | Sequence[int], n: int) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,) * n
    return tuple(value)
