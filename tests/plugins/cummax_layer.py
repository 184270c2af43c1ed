"""A test layer whose operator (torch.cummax) has no ONNX mapping: how `netspec export` reports an
unexportable layer. Not registered on import (the registry is global); cummax_plugin registers it."""

from __future__ import annotations

from typing import ClassVar

from netspec.layers.base import Example, Layer


class CumMax(Layer):
    """(F,) → (F,): the running maximum along the features."""

    tag: ClassVar[str] = "cummax"
    family: ClassVar[str] = "tensor"
    examples = (Example({}, ((6,),)),)

    def output_shape(self, x):
        return x

    def build(self, x):
        import torch
        from torch import nn

        class RunningMax(nn.Module):
            def forward(self, t):
                return torch.cummax(t, dim=-1).values

        return RunningMax()
