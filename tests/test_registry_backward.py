"""Registry-wide: every layer example runs a backward pass in training mode. The gradients that
reach the parameters and the float inputs are finite, and every parameter and every float input
gets one. The one documented exception is a layer that declares ``zero_gradient`` (a step):
its output carries no gradient at all, and the test checks that instead."""

from __future__ import annotations

import pytest
import torch

from layer_cases import CASE_IDS, CASES, case, forward_of, inputs_of, module_of
from netspec.layers import FLOAT


@pytest.mark.parametrize("tag,i", CASES, ids=CASE_IDS)
def test_backward_pass_reaches_every_parameter(tag, i):
    torch.manual_seed(0)
    layer, ex, dtypes = case(tag, i)
    module = module_of(layer, ex).train()
    xs = inputs_of(ex, dtypes)
    for x, dtype in zip(xs, dtypes):
        x.requires_grad_(dtype == FLOAT)
    outs = [o for o in forward_of(layer, module, xs) if o.requires_grad]
    if layer.zero_gradient:
        assert not outs, f"{tag} declares zero_gradient but its output carries a gradient"
        return
    assert outs, f"{tag}: no output carries a gradient (declare zero_gradient if that is the layer's nature)"
    loss = sum((o * torch.randn_like(o)).sum() for o in outs)
    loss.backward()
    for name, p in module.named_parameters():
        assert p.grad is not None, f"{tag}: parameter {name} gets no gradient"
        assert torch.isfinite(p.grad).all(), f"{tag}: parameter {name} has a non-finite gradient"
    for k, (x, dtype) in enumerate(zip(xs, dtypes)):
        if dtype == FLOAT:
            assert x.grad is not None, f"{tag}: float input {k} gets no gradient"
            assert torch.isfinite(x.grad).all(), f"{tag}: input {k} has a non-finite gradient"
