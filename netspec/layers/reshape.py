"""Layers that only rearrange a tensor: flatten, reshape, permute."""

import math
from typing import TYPE_CHECKING

from pydantic import Field

from ..errors import ShapeError
from .base import Example, Layer
from .registry import register
from .shapes import Shape, fmt_shape, normalize_dim, numel

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn


@register
class Flatten(Layer):
    """(C, H, W) → (C·H·W,): merges dims start_dim..end_dim (PyTorch convention: the batch is 0)."""

    tag = "flatten"
    family = "reshape"
    input_dtypes = None
    examples = (Example({}, ((16, 5, 5),)), Example({"start_dim": 2}, ((3, 4, 5),)), Example({}, ((7,),)))
    bad_inputs = ()

    start_dim: int = Field(1, description="First dim to merge (1 = the first per-sample dim).")
    end_dim: int = Field(-1, description="Last dim to merge.")

    def output_dtype(self, *dtypes: str) -> str:
        return dtypes[0]

    def output_shape(self, x: Shape) -> Shape:
        start, end = normalize_dim(self.start_dim, len(x)), normalize_dim(self.end_dim, len(x))
        if start > end:
            raise ShapeError(f"start_dim {self.start_dim} comes after end_dim {self.end_dim}")
        return x[:start] + (numel(x[start:end + 1]),) + x[end + 1:]

    def build(self, x: Shape) -> "nn.Module":
        from torch import nn

        return nn.Flatten(self.start_dim, self.end_dim)


@register
class Reshape(Layer):
    """(*) → shape: per-sample reshape (the batch is kept); one entry may be -1 (inferred)."""

    tag = "reshape"
    family = "reshape"
    input_dtypes = None
    examples = (Example({"shape": [16, 5, 5]}, ((400,),)), Example({"shape": [-1, 4]}, ((2, 8),)))
    bad_inputs = (((7,),),)

    shape: list[int] = Field(description="Per-sample target shape, e.g. [16, 5, 5]; -1 once to infer.")

    def output_dtype(self, *dtypes: str) -> str:
        return dtypes[0]

    def output_shape(self, x: Shape) -> Shape:
        if sum(1 for d in self.shape if d == -1) > 1 or any(d == 0 or d < -1 for d in self.shape):
            raise ShapeError(f"shape {self.shape}: use positive sizes and at most one -1")
        total = numel(x)
        known = math.prod(d for d in self.shape if d != -1)
        if not isinstance(total, int):
            if -1 in self.shape:
                inferred = total if known == 1 else f"({total})/{known}"
                return tuple(inferred if d == -1 else d for d in self.shape)
            raise ShapeError(f"cannot reshape the symbolic shape {fmt_shape(x)} to {self.shape} without a -1")
        if -1 in self.shape:
            if total % known:
                raise ShapeError(f"cannot reshape {fmt_shape(x)} ({total} values) to {self.shape}")
            return tuple(total // known if d == -1 else d for d in self.shape)
        if known != total:
            raise ShapeError(f"cannot reshape {fmt_shape(x)} ({total} values) to {fmt_shape(tuple(self.shape))} "
                             f"({known} values)", hint="the number of values per sample must stay the same")
        return tuple(self.shape)

    def build(self, x: Shape) -> "nn.Module":
        from ..nn.reshape import Reshape as Module

        return Module(tuple(self.shape))


@register
class Permute(Layer):
    """(d1, d2, …) → (dπ1, dπ2, …): reorders dims; `dims` follows PyTorch and starts with 0 (the batch)."""

    tag = "permute"
    family = "reshape"
    input_dtypes = None
    examples = (Example({"dims": [0, 2, 1]}, ((3, 5),)), Example({"dims": [0, 2, 3, 1]}, ((3, 4, 5),)))
    bad_inputs = (((3,),),)

    dims: list[int] = Field(description="New order of all dims, batch included: [0, 2, 1] swaps the two per-sample dims.")

    def output_dtype(self, *dtypes: str) -> str:
        return dtypes[0]

    def output_shape(self, x: Shape) -> Shape:
        full = len(x) + 1
        order = [d % full if -full <= d < full else None for d in self.dims]
        if len(self.dims) != full or sorted(o for o in order if o is not None) != list(range(full)):
            raise ShapeError(f"dims {self.dims} is not a permutation of the {full} dims (batch included) of {fmt_shape(x)}",
                             hint=f"list every dim once, starting with 0 for the batch, e.g. {[0] + list(range(full - 1, 0, -1))}")
        if order[0] != 0:
            raise ShapeError("permute must keep the batch dim first", hint="start dims with 0")
        return tuple(x[o - 1] for o in order[1:])  # type: ignore[operator]

    def build(self, x: Shape) -> "nn.Module":
        from ..nn.reshape import Permute as Module

        return Module(tuple(self.dims))
