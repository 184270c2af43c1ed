"""Each optimizer and schedule against its direct torch construction: same hyperparameters, same
values after a few steps."""

from __future__ import annotations

import copy
import io

import pytest
import torch
from torch import nn

from netspec.spec.train import TrainSpec
from netspec.train.optim import build_optimizer
from netspec.train.schedules import Schedule

pytestmark = pytest.mark.filterwarnings("ignore:Detected call of")

OPTIMIZERS = {
    "sgd": ({"type": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3},
            lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3)),
    "adagrad": ({"type": "adagrad", "lr": 0.05, "lr_decay": 0.01},
                lambda p: torch.optim.Adagrad(p, lr=0.05, lr_decay=0.01)),
    "adadelta": ({"type": "adadelta", "lr": 0.5, "rho": 0.8}, lambda p: torch.optim.Adadelta(p, lr=0.5, rho=0.8)),
    "rmsprop": ({"type": "rmsprop", "lr": 0.01, "alpha": 0.9, "momentum": 0.5, "centered": True},
                lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, momentum=0.5, centered=True)),
    "adam": ({"type": "adam", "lr": 0.01, "betas": [0.8, 0.99], "amsgrad": True},
             lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.99), amsgrad=True)),
    "adamw": ({"type": "adamw", "lr": 0.01, "weight_decay": 0.1}, lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1)),
    "nadam": ({"type": "nadam", "lr": 0.01, "momentum_decay": 0.01},
              lambda p: torch.optim.NAdam(p, lr=0.01, momentum_decay=0.01)),
    "radam": ({"type": "radam", "lr": 0.01, "eps": 1e-6}, lambda p: torch.optim.RAdam(p, lr=0.01, eps=1e-6)),
}


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


def _optimizer_spec(data: dict):
    return TrainSpec.model_validate({"optimizer": data}).optimizer


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_matches_direct_torch(name):
    data, direct = OPTIMIZERS[name]
    a, b = _model(), _model()
    _run(a, build_optimizer(_optimizer_spec(data), a))
    _run(b, direct(b.parameters()))
    for (n, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters()):
        assert torch.equal(pa, pb), n
    assert not torch.equal(a[0].weight, _model()[0].weight)  # it did train


def test_param_groups_by_glob_and_no_decay():
    model = _model()
    spec = _optimizer_spec({"type": "adamw", "lr": 0.01, "weight_decay": 0.1, "no_decay": ["bias", "norm"],
                            "groups": [{"params": ["0.*"], "lr": 0.001}]})
    opt = build_optimizer(spec, model)
    by_param = {id(p): g for g in opt.param_groups for p in g["params"]}
    names = dict(model.named_parameters())
    assert by_param[id(names["0.weight"])]["lr"] == 0.001 and by_param[id(names["0.weight"])]["weight_decay"] == 0.1
    assert by_param[id(names["0.bias"])]["lr"] == 0.001 and by_param[id(names["0.bias"])]["weight_decay"] == 0.0
    assert by_param[id(names["1.weight"])]["weight_decay"] == 0.0  # LayerNorm weight
    assert by_param[id(names["3.weight"])]["lr"] == 0.01 and by_param[id(names["3.weight"])]["weight_decay"] == 0.1
    # the same groups built by hand give the same training
    ref_model = _model()
    rn = dict(ref_model.named_parameters())
    ref = torch.optim.AdamW([
        {"params": [rn["0.weight"]], "lr": 0.001},
        {"params": [rn["0.bias"]], "lr": 0.001, "weight_decay": 0.0},
        {"params": [rn["3.weight"]]},
        {"params": [rn["1.weight"], rn["1.bias"], rn["3.bias"]], "weight_decay": 0.0},
    ], lr=0.01, weight_decay=0.1)
    _run(model, opt)
    _run(ref_model, ref)
    for n in names:
        assert torch.equal(names[n], rn[n]), n


# ---- schedules --------------------------------------------------------------------------------------

S = torch.optim.lr_scheduler
SCHEDULES = {
    "step": ({"type": "step", "step_size": 2, "gamma": 0.5}, lambda o: S.StepLR(o, 2, 0.5)),
    "multistep": ({"type": "multistep", "milestones": [2, 5], "gamma": 0.3}, lambda o: S.MultiStepLR(o, [2, 5], 0.3)),
    "exponential": ({"type": "exponential", "gamma": 0.9}, lambda o: S.ExponentialLR(o, 0.9)),
    "cosine": ({"type": "cosine", "t_max": 6, "eta_min": 0.001}, lambda o: S.CosineAnnealingLR(o, 6, 0.001)),
    "cosine_warm_restarts": ({"type": "cosine_warm_restarts", "t_0": 3, "t_mult": 2},
                             lambda o: S.CosineAnnealingWarmRestarts(o, 3, 2)),
    "one_cycle": ({"type": "one_cycle", "max_lr": 0.5, "pct_start": 0.25},
                  lambda o: S.OneCycleLR(o, max_lr=0.5, total_steps=8, pct_start=0.25, cycle_momentum=False)),
    "cyclic": ({"type": "cyclic", "base_lr": 0.01, "max_lr": 0.1, "step_size_up": 3},
               lambda o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=3, cycle_momentum=False)),
}


def _opt(lr: float = 0.1):
    return torch.optim.SGD([nn.Parameter(torch.zeros(2))], lr=lr)


def _sched_spec(data: dict):
    return TrainSpec.model_validate({"schedule": data}).schedule


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_schedule_matches_direct_torch(name):
    data, direct = SCHEDULES[name]
    epochs, steps = 8, 1  # one step per epoch: step-wise and epoch-wise schedules advance alike
    ours = Schedule(_sched_spec(data), _opt(), epochs, steps)
    ref_opt = _opt()
    ref = direct(ref_opt)
    got, want = [], []
    for _ in range(epochs):
        got.append(ours.lr())
        want.append(ref_opt.param_groups[0]["lr"])
        ours.opt.step()
        ours.step_batch()
        ours.step_epoch({})
        ref_opt.step()
        ref.step()
    assert got == pytest.approx(want, rel=1e-12, abs=1e-15)
    assert len(set(round(v, 12) for v in got)) > 1
    buf = io.BytesIO()
    torch.save(ours.state_dict(), buf)  # plain data: loads with weights_only
    buf.seek(0)
    assert torch.load(buf, weights_only=True)["done"] == 0


def test_reduce_on_plateau_matches_direct_torch():
    spec = _sched_spec({"type": "reduce_on_plateau", "monitor": "val.loss", "factor": 0.5, "patience": 1})
    ours = Schedule(spec, _opt(), 10, 1)
    ref_opt = _opt()
    ref = S.ReduceLROnPlateau(ref_opt, mode="min", factor=0.5, patience=1)
    for value in [1.0, 0.9, 0.95, 0.96, 0.97, 0.5, 0.6, 0.7]:
        ours.step_epoch({"val.loss": value})
        ref.step(value)
        assert ours.lr() == ref_opt.param_groups[0]["lr"]
    assert ours.lr() < 0.1


def test_linear_warmup_then_schedule():
    spec = _sched_spec({"type": "step", "step_size": 1, "gamma": 0.5, "warmup_steps": 4, "warmup_start": 0.0,
                        "interval": "step"})
    ours = Schedule(spec, _opt(0.2), 10, 1)
    lrs = []
    for _ in range(7):
        lrs.append(ours.lr())
        ours.step_batch()
    assert lrs == pytest.approx([0.0, 0.05, 0.1, 0.15, 0.2, 0.1, 0.05])


def test_warmup_epochs_do_not_advance_an_epoch_schedule():
    spec = _sched_spec({"type": "cosine", "warmup_epochs": 1})
    opt = _opt(1.0)
    ours = Schedule(spec, opt, epochs=3, steps_per_epoch=2)
    seen = []
    for _ in range(3):
        seen.append([])
        for _ in range(2):
            seen[-1].append(ours.lr())
            ours.step_batch()
        ours.step_epoch({})
    assert seen[0] == pytest.approx([0.0, 0.5])
    ref_opt = _opt(1.0)
    ref = S.CosineAnnealingLR(ref_opt, 2)
    assert seen[1] == pytest.approx([1.0, 1.0])
    ref.step()
    assert seen[2] == pytest.approx([ref_opt.param_groups[0]["lr"]] * 2)
    assert copy.deepcopy(ours.state_dict())["epoch_start"] == ours.done == 2  # warm-up steps counted
