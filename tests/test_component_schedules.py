"""Every registered learning-rate schedule, built from its EXAMPLE by the trainer's ``Schedule``,
against its direct torch.optim.lr_scheduler construction: the same learning rate at every step and
the same parameters after training a small model. A registered tag without a reference case here
fails (``test_every_schedule_has_a_reference``)."""

from __future__ import annotations

import io

import pytest
import torch
from torch import nn

from netspec.registry import UnknownComponent
from netspec.schedules import SCHEDULES
from netspec.source import load_text
from netspec.spec.train import TrainSpec
from netspec.train.schedules import Schedule

S = torch.optim.lr_scheduler
STEPS = 8  # one optimizer step per epoch: step-wise and epoch-wise schedules advance alike
LR = 0.1
#: fed to schedules that step on a monitored metric, one value per epoch
METRIC = [1.0, 0.9, 0.95, 0.96, 0.97, 0.5, 0.6, 0.7]


def _warmup(o, steps: int):  # the trainer's linear warm-up from 0 (constant's EXAMPLE warms up over 2 steps)
    return S.LambdaLR(o, lambda t: min(t / steps, 1.0))


#: tag -> the direct torch construction of the tag's EXAMPLE over an optimizer with lr 0.1
REFERENCE = {
    "constant": lambda o: _warmup(o, 2),
    "step": lambda o: S.StepLR(o, 2, 0.5),
    "multistep": lambda o: S.MultiStepLR(o, [2, 5], 0.3),
    "exponential": lambda o: S.ExponentialLR(o, 0.9),
    "cosine": lambda o: S.CosineAnnealingLR(o, 6, 0.001),
    "cosine_warm_restarts": lambda o: S.CosineAnnealingWarmRestarts(o, 3, 2),
    "one_cycle": lambda o: S.OneCycleLR(o, max_lr=0.5, total_steps=STEPS, pct_start=0.25, cycle_momentum=False),
    "cyclic": lambda o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=3, cycle_momentum=False),
    "reduce_on_plateau": lambda o: S.ReduceLROnPlateau(o, mode="min", factor=0.5, patience=1),
    "inverse_time": lambda o: S.LambdaLR(o, lambda t: 1 / (1 + 0.5 * t / 2)),
}
TAGS = SCHEDULES.tags()


def example(tag: str):
    """The tag's EXAMPLE, parsed as YAML and validated through the spec's ``train.schedule``."""
    data, _ = load_text(SCHEDULES.get(tag).EXAMPLE)
    spec = TrainSpec.model_validate({"schedule": data}).schedule
    assert type(spec) is SCHEDULES.get(tag)
    return spec


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 1))


def _step(model: nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor) -> None:
    opt.zero_grad()
    model(x).pow(2).mean().backward()
    opt.step()


def test_every_schedule_has_a_reference():
    assert set(REFERENCE) == set(TAGS)


@pytest.mark.parametrize("tag", TAGS)
def test_schedule_matches_direct_torch(tag):
    spec = example(tag)
    a, b = _model(), _model()
    opt_a, opt_b = torch.optim.SGD(a.parameters(), lr=LR), torch.optim.SGD(b.parameters(), lr=LR)
    ours, ref = Schedule(spec, opt_a, STEPS, 1), REFERENCE[tag](opt_b)
    monitored = spec.monitored() is not None
    got, want = [], []
    g = torch.Generator().manual_seed(1)
    for epoch in range(STEPS):
        got.append(ours.lr())
        want.append(opt_b.param_groups[0]["lr"])
        x = torch.randn(8, 4, generator=g)
        _step(a, opt_a, x)
        _step(b, opt_b, x)
        ours.step_batch()
        ours.step_epoch({spec.monitored(): METRIC[epoch]} if monitored else {})
        ref.step(METRIC[epoch]) if monitored else ref.step()
    assert got == pytest.approx(want, rel=1e-12, abs=1e-15)
    assert len({round(v, 12) for v in got}) > 1  # the example does change the lr
    for (n, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters()):
        torch.testing.assert_close(pa, pb, rtol=1e-6, atol=1e-7, msg=n)
    buf = io.BytesIO()
    torch.save(ours.state_dict(), buf)  # plain data: a checkpoint loads it with weights_only
    buf.seek(0)
    assert torch.load(buf, weights_only=True)["done"] == spec.warmup_steps


@pytest.mark.parametrize("tag", TAGS)
def test_schedule_state_resumes(tag):
    """Stopped after 3 steps and loaded from its state dict, it continues as an uninterrupted one."""
    spec = example(tag)
    monitored = spec.monitored()

    def advance(s: Schedule, epoch: int) -> None:
        s.opt.step()
        s.step_batch()
        s.step_epoch({monitored: METRIC[epoch]} if monitored else {})

    whole = Schedule(spec, torch.optim.SGD([nn.Parameter(torch.zeros(2))], lr=LR), STEPS, 1)
    first = Schedule(spec, torch.optim.SGD([nn.Parameter(torch.zeros(2))], lr=LR), STEPS, 1)
    for epoch in range(3):
        advance(whole, epoch)
        advance(first, epoch)
    second = Schedule(spec, torch.optim.SGD([nn.Parameter(torch.zeros(2))], lr=LR), STEPS, 1)
    second.opt.load_state_dict(first.opt.state_dict())  # in the order of netspec.train.session.restore
    second.load_state_dict(first.state_dict())
    for epoch in range(3, STEPS):
        assert second.lr() == pytest.approx(whole.lr(), rel=1e-12), epoch
        advance(whole, epoch)
        advance(second, epoch)


def test_default_intervals():
    per_step = {tag for tag, cls in SCHEDULES.items() if cls.per_batch}
    assert {"one_cycle", "cyclic"} <= per_step and "step" not in per_step
    assert example("step").advances_per() == "epoch"
    assert SCHEDULES.get("step").model_validate({"type": "step", "interval": "step"}).advances_per() == "step"
    assert [tag for tag in TAGS if example(tag).monitored()] == ["reduce_on_plateau"]


def test_unknown_schedule_raises():
    with pytest.raises(UnknownComponent, match="did you mean 'cosine'"):
        SCHEDULES.get("cosin")
