"""Parameter groups and the schedules' warm-up against their direct torch construction (each
optimizer and schedule against torch: tests/test_component_optimizers.py and
tests/test_component_schedules.py)."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from netspec.spec.train import TrainSpec
from netspec.train.optim import build_optimizer
from netspec.train.schedules import Schedule
from test_component_optimizers import _model, _run  # the small model and steps the registry test uses

pytestmark = pytest.mark.filterwarnings("ignore:Detected call of")



def _optimizer_spec(data: dict):
    return TrainSpec.model_validate({"optimizer": data}).optimizer


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
def _opt(lr: float = 0.1):
    return torch.optim.SGD([nn.Parameter(torch.zeros(2))], lr=lr)


def _sched_spec(data: dict):
    return TrainSpec.model_validate({"schedule": data}).schedule


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
