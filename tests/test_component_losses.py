"""Registry-wide loss tests: every registered loss, built from its EXAMPLE the way the trainer builds
it (``build_loss``), equals its direct torch construction (a torch.nn loss module, or the formula in
torch.nn.functional where PyTorch has none) on random inputs, and backpropagates.

REFERENCE is keyed by tag: a loss registered without a case here fails
``test_every_loss_has_a_reference_case``, so a new loss cannot go untested.
"""

from __future__ import annotations

from typing import Any, Callable

import pytest
import torch
import torch.nn.functional as F
import yaml
from torch import nn

from conftest import EXAMPLES
from netspec.losses import LOSSES, MODES, Loss, LossContext
from netspec.spec.train import TrainSpec
from netspec.train.losses import build_loss

g = torch.Generator().manual_seed(0)
N, C, D = 6, 4, 5
LOGITS = torch.randn(N, C, generator=g)
LABELS = torch.tensor([0, 3, 1, 2, 3, 1])
PRED = torch.randn(N, 1, generator=g)
REAL = torch.randn(N, generator=g)
BIN = torch.tensor([0, 1, 1, 0, 1, 0])
PM = torch.tensor([1, -1, 1, 1, -1, -1])
E1, E2, E3 = (torch.randn(N, D, generator=g) for _ in range(3))
SEG = torch.randn(2, 3, 4, 5, generator=g)
MASK = torch.randint(0, 3, (2, 4, 5), generator=g)


def _focal(s: Any, o: tuple, y: torch.Tensor) -> torch.Tensor:
    logp_t = -F.cross_entropy(o[0], y, reduction="none")
    return (-(s.alpha if s.alpha is not None else 1.0) * (1 - logp_t.exp()) ** s.gamma * logp_t).mean()


def _contrastive(s: Any, o: tuple, y: torch.Tensor) -> torch.Tensor:
    d = F.pairwise_distance(o[0], o[1])
    return (y * d**2 + (1 - y) * F.relu(s.margin - d) ** 2).mean()


def _dice(s: Any, o: tuple, y: torch.Tensor) -> torch.Tensor:
    p, onehot = F.softmax(o[0], 1), F.one_hot(y, o[0].shape[1]).permute(0, 3, 1, 2).float()
    dice = (2 * (p * onehot).sum((0, 2, 3)) + s.smooth) / (p.sum((0, 2, 3)) + onehot.sum((0, 2, 3)) + s.smooth)
    return 1 - (dice if s.include_background else dice[1:]).mean()


def _pinball(q: float, pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The pinball loss written out: q·(y − ŷ) where the target lies above, (1 − q)·(ŷ − y) below."""
    return torch.where(y >= pred, q * (y - pred), (1 - q) * (pred - y)).mean()


Case = tuple[str, tuple, Any, Callable[[Any, tuple, Any], torch.Tensor]]

#: tag -> (task mode, model outputs, target, reference(spec, outputs, target))
REFERENCE: dict[str, Case] = {
    "mse": ("regression", (PRED,), REAL, lambda s, o, y: nn.MSELoss()(o[0], y.view(N, 1))),
    "mae": ("regression", (PRED,), REAL, lambda s, o, y: nn.L1Loss()(o[0], y.view(N, 1))),
    "huber": ("regression", (PRED,), REAL, lambda s, o, y: nn.HuberLoss(delta=s.delta)(o[0], y.view(N, 1))),
    "smooth_l1": ("regression", (PRED,), REAL, lambda s, o, y: nn.SmoothL1Loss(beta=s.beta)(o[0], y.view(N, 1))),
    "bce": ("binary", (torch.sigmoid(PRED),), BIN, lambda s, o, y: nn.BCELoss()(o[0], y.float().view(N, 1))),
    "bce_with_logits": ("binary", (PRED,), BIN, lambda s, o, y: nn.BCEWithLogitsLoss(
        pos_weight=torch.tensor([s.pos_weight]))(o[0], y.float().view(N, 1))),
    "cross_entropy": ("multiclass", (LOGITS,), LABELS, lambda s, o, y: nn.CrossEntropyLoss(
        weight=torch.tensor(s.class_weights), ignore_index=s.ignore_index, label_smoothing=s.label_smoothing)(o[0], y)),
    "nll": ("multiclass", (F.log_softmax(LOGITS, 1),), LABELS,
            lambda s, o, y: nn.NLLLoss(ignore_index=s.ignore_index)(o[0], y)),
    "focal": ("multiclass", (LOGITS,), LABELS, _focal),
    "kl_div": ("multiclass", (F.log_softmax(LOGITS, 1),), F.log_softmax(E1[:, :C], 1),
               lambda s, o, y: nn.KLDivLoss(reduction="batchmean", log_target=s.log_target)(o[0], y)),
    "hinge": ("multiclass", (LOGITS,), LABELS, lambda s, o, y: nn.MultiMarginLoss(p=s.p, margin=s.margin)(o[0], y)),
    "margin": ("binary", (REAL,), PM, lambda s, o, y: nn.HingeEmbeddingLoss(margin=s.margin)(o[0], y.float())),
    "cosine_embedding": ("regression", (E1, E2), PM,
                         lambda s, o, y: nn.CosineEmbeddingLoss(margin=s.margin)(o[0], o[1], y.float())),
    "triplet": ("regression", (E1, E2, E3), None,
                lambda s, o, y: nn.TripletMarginLoss(margin=s.margin, p=s.p)(o[0], o[1], o[2])),
    "contrastive": ("regression", (E1, E2), BIN.float(), _contrastive),
    "dice": ("segmentation", (SEG,), MASK, _dice),
    "quantile": ("regression", (PRED,), REAL, lambda s, o, y: _pinball(s.q, o[0], y.view(N, 1))),
}


def example(tag: str) -> Loss:
    """The loss's EXAMPLE, validated as a spec's ``train.loss`` is."""
    data = yaml.safe_load(LOSSES.get(tag).EXAMPLE)
    assert isinstance(data, dict) and data["type"] == tag, f"{tag}: EXAMPLE must be a mapping with type {tag}"
    return TrainSpec.model_validate({"loss": data}).loss[0]  # type: ignore[index]


def test_every_loss_has_a_reference_case():
    assert set(REFERENCE) == set(LOSSES.tags()), "every registered loss needs a REFERENCE case (and nothing else)"


@pytest.mark.parametrize("tag", LOSSES.tags())
def test_loss_example_matches_direct_torch(tag):
    assert tag in REFERENCE, f"loss {tag!r} has no REFERENCE case in tests/test_component_losses.py"
    mode, outputs, target, reference = REFERENCE[tag]
    spec = example(tag)
    got = build_loss(spec, mode)(outputs, target)
    want = reference(spec, outputs, target)
    assert got.shape == () and torch.isfinite(got)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("tag", LOSSES.tags())
def test_loss_backpropagates_to_its_outputs(tag):
    mode, outputs, target, _ = REFERENCE[tag]
    leaves = tuple(o.detach().clone().requires_grad_(True) for o in outputs)
    example(tag).build(LossContext(mode))(leaves, target).backward()
    for leaf in leaves:
        assert leaf.grad is not None and torch.isfinite(leaf.grad).all() and leaf.grad.abs().sum() > 0


@pytest.mark.parametrize("tag", LOSSES.tags())
def test_planning_rules_are_declared_on_the_class(tag):
    cls = LOSSES.get(tag)
    mode, outputs, _, _ = REFERENCE[tag]
    assert cls.fits and cls.fits <= MODES and mode in cls.fits
    assert cls.arity == len(outputs)
    assert (cls.pair_labels is not None) == (cls.arity == 2)
    assert cls.contract and (cls.__doc__ or "").strip()


# ---- quantile, end to end ------------------------------------------------------------------------

QUANTILE = """netspec: 1
inputs: {x: {shape: [2]}}
model:
  layers:
    - {name: out, linear: {out_features: 1}}
data:
  source: {type: arrays, path: d.npz}
  split: {val: 0.25, seed: 0, stratify: false}
  preprocess: {features: none}
train:
  task: regression
  loss: {type: quantile, q: 0.9}
  epochs: 40
  batch_size: 32
  optimizer: {type: adam, lr: 0.05}
  seed: 0
"""


def test_quantile_loss_fits_the_task_rule_from_its_class():
    from netspec.check import check
    from netspec.errors import NetspecError

    spec = EXAMPLES / "diabetes_regression.yaml"
    check(spec, ["train.loss={type: quantile, q: 0.25}"])  # regression: fits
    with pytest.raises(NetspecError) as info:
        check(spec, ["train.loss=quantile", "train.task=classification", "train.metrics=[accuracy]",
                     "train.early_stopping.monitor=val.accuracy"])
    found = [(e.path, e.message, e.hint) for e in getattr(info.value, "errors", [info.value])]
    assert any(p == ("train", "loss", 0, "type") and "does not fit the task" in m and "quantile" not in h
               for p, m, h in found), found


def test_quantile_loss_trains_the_output_to_the_targets_q_quantile(write_spec, tmp_path):
    """Targets uniform on [0, 1] and independent of x: the 0.9-quantile model predicts about 0.9 everywhere,
    so about 90% of the targets lie below its output; the val loss is the pinball loss by hand."""
    import numpy as np

    import netspec.check  # noqa: F401 - netspec's modules in their import order before unpickling
    from netspec.checkpoint import load_checkpoint, rebuild_models
    from netspec.train.api import train_spec

    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 2)).astype(np.float32)
    y = rng.uniform(size=512).astype(np.float32)
    np.savez(tmp_path / "d.npz", features=x, target=y)
    result = train_spec(write_spec(QUANTILE), out=tmp_path / "run")
    model = rebuild_models(load_checkpoint(result.checkpoint))["model"].eval()
    with torch.no_grad():
        pred = model(torch.from_numpy(x)).reshape(-1)
    target = torch.from_numpy(y)
    assert abs(float((target <= pred).float().mean()) - 0.9) < 0.06
    assert abs(float(pred.mean()) - 0.9) < 0.08
    whole = _pinball(0.9, pred, target)
    assert float(whole) < float(_pinball(0.9, torch.full_like(target, 0.5), target))  # better than the median
    assert result.metrics["val.loss"] == pytest.approx(float(whole), rel=0.25)  # the val split's share of it
