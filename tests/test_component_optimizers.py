"""Every registered optimizer, built from its EXAMPLE as the trainer builds it, against its direct
torch.optim construction: identical parameters after a few steps. A registered tag without a
reference case here fails (``test_every_optimizer_has_a_reference``). The rules the optimizer
classes state for the rest of netspec are checked against torch too: the state tensors per
parameter (memory estimates) against the state torch keeps, and ``fused`` / ``foreach`` against
the implementations torch accepts."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from netspec.optimizers import OPTIMIZERS, default_optimizer, optimizer_for
from netspec.registry import UnknownComponent
from netspec.source import load_text
from netspec.spec.train import TrainSpec
from netspec.train.optim import build_optimizer, resolve_impl

#: tag -> the direct torch construction of the tag's EXAMPLE
REFERENCE = {
    "sgd": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "adagrad": lambda p: torch.optim.Adagrad(p, lr=0.05, lr_decay=0.01),
    "adadelta": lambda p: torch.optim.Adadelta(p, lr=0.5, rho=0.8),
    "rmsprop": lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, momentum=0.5, centered=True),
    "adam": lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.99), amsgrad=True),
    "adamw": lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1),
    "nadam": lambda p: torch.optim.NAdam(p, lr=0.01, momentum_decay=0.01),
    "radam": lambda p: torch.optim.RAdam(p, lr=0.01, eps=1e-6),
    "adafactor": lambda p: torch.optim.Adafactor(p, lr=0.02, beta2_decay=-0.7, d=1.5, weight_decay=0.01),
}
TAGS = OPTIMIZERS.tags()


def example(tag: str):
    """The tag's EXAMPLE, parsed as YAML and validated through the spec's ``train.optimizer``."""
    data, _ = load_text(OPTIMIZERS.get(tag).EXAMPLE)
    spec = TrainSpec.model_validate({"optimizer": data}).optimizer
    assert type(spec) is OPTIMIZERS.get(tag)
    return spec


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 8), nn.LayerNorm(8), nn.ReLU(), nn.Linear(8, 2))


def _run(model: nn.Module, opt: torch.optim.Optimizer, steps: int = 5) -> None:
    g = torch.Generator().manual_seed(1)
    for _ in range(steps):
        x = torch.randn(16, 5, generator=g)
        loss = model(x).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()


def test_every_optimizer_has_a_reference():
    assert set(REFERENCE) == set(TAGS)


@pytest.mark.parametrize("tag", TAGS)
def test_optimizer_matches_direct_torch(tag):
    a, b = _model(), _model()
    _run(a, build_optimizer(example(tag), a))
    _run(b, REFERENCE[tag](b.parameters()))
    for (n, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters()):
        assert torch.equal(pa, pb), n
    assert not torch.equal(a[0].weight, _model()[0].weight)  # it did train


@pytest.mark.parametrize("tag", TAGS)
def test_state_tensors_match_torch(tag):
    """``state_tensors()`` (the memory estimate) counts the parameter-sized tensors torch keeps for a weight."""
    for spec in (example(tag), OPTIMIZERS.get(tag).model_validate({"type": tag})):
        model = _model()
        opt = spec.build(model.parameters())
        _run(model, opt, steps=2)
        weight = model[0].weight
        sized = [k for k, v in opt.state[weight].items() if torch.is_tensor(v) and v.shape == weight.shape]
        assert spec.state_tensors() == len(sized), (spec, sorted(opt.state[weight]))


@pytest.mark.parametrize("tag", TAGS)
def test_implementations_are_the_ones_torch_has(tag):
    cls = OPTIMIZERS.get(tag)
    spec = example(tag)
    for impl, has in (("fused", cls.fused), ("foreach", cls.foreach)):
        model = _model()
        if has:
            _run(model, spec.build(model.parameters(), impl), steps=2)
            ref = _model()
            _run(ref, REFERENCE[tag](ref.parameters()), steps=2)
            torch.testing.assert_close(model[0].weight, ref[0].weight, rtol=1e-5, atol=1e-6)
        else:
            with pytest.raises(TypeError):
                spec.build(model.parameters(), impl)
    want = "fused" if cls.fused else "foreach"
    assert resolve_impl("auto", tag, "cuda") == want and resolve_impl("auto", tag, "cpu") == "default"


def test_the_default_and_which_optimizer_a_model_gets():
    assert default_optimizer() == OPTIMIZERS.get("adam").model_validate({"type": "adam", "lr": 1e-3})
    assert optimizer_for(None, "model") == default_optimizer()
    assert optimizer_for(TrainSpec(), "model") == default_optimizer()
    one = TrainSpec.model_validate({"optimizer": "sgd"})
    assert optimizer_for(one, "encoder").type == "sgd"
    rule = OPTIMIZERS.get("sgd").model_validate({"type": "sgd", "lr": 0.5})
    assert optimizer_for(TrainSpec(), "model", rule) is rule and optimizer_for(one, "model", rule) is one.optimizer
    each = TrainSpec.model_validate({"optimizers": {"generator": "adamw", "discriminator": {"type": "sgd", "lr": 0.2}}})
    assert optimizer_for(each, "generator").type == "adamw" and optimizer_for(each, "discriminator").lr == 0.2
    assert optimizer_for(each, "other") == default_optimizer()


def test_unknown_optimizer_raises():
    with pytest.raises(UnknownComponent, match="did you mean 'adam'"):
        OPTIMIZERS.get("adan")
    with pytest.raises(UnknownComponent):
        resolve_impl("auto", "lion", "cuda")
