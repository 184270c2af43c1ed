"""A test layer with a finite forward pass and a NaN gradient: the identity, whose backward pass
returns NaN from its ``after``-th call on (a finite loss with a non-finite gradient, as a square
root at 0 gives). Not registered on import (the registry is global); nan_grad_plugin registers it."""

from __future__ import annotations

from typing import ClassVar

from netspec.layers.base import Example, Layer


class NanGrad(Layer):
    """(F,) → (F,): the identity forward; the backward pass is NaN from the ``after``-th step on."""

    tag: ClassVar[str] = "nan_grad"
    family: ClassVar[str] = "tensor"
    examples = (Example({}, ((6,),)),)
    after: int = 1

    def output_shape(self, x):
        return x

    def build(self, x):
        import torch
        from torch import nn

        after = self.after

        class Poison(torch.autograd.Function):
            @staticmethod
            def forward(ctx, t, bad):
                ctx.bad = bad
                return t.clone()

            @staticmethod
            def backward(ctx, grad):
                return (grad * float("nan") if ctx.bad else grad), None

        class NanGradModule(nn.Module):
            def __init__(self):
                super().__init__()
                self.calls = 0

            def forward(self, t):
                if not self.training or not torch.is_grad_enabled():
                    return t
                self.calls += 1
                return Poison.apply(t, self.calls >= after)

        return NanGradModule()
