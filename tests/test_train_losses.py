"""Each loss against its direct torch construction (or its formula where torch has none)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from netspec.spec.train import TrainSpec
from netspec.train.losses import build_loss

g = torch.Generator().manual_seed(0)
LOGITS = torch.randn(6, 4, generator=g)
LABELS = torch.tensor([0, 3, 1, 2, 3, 0])
PRED = torch.randn(6, 1, generator=g)
REAL = torch.randn(6, generator=g)
BIN = torch.tensor([0, 1, 1, 0, 1, 0])
E1, E2, E3 = (torch.randn(6, 5, generator=g) for _ in range(3))
PM = torch.tensor([1, -1, 1, 1, -1, -1])


def loss(data: dict, mode: str = "multiclass", weights=None):
    return build_loss(TrainSpec.model_validate({"loss": data}).loss[0], mode, weights)


CASES = [
    ({"type": "mse"}, "regression", (PRED,), REAL, lambda: nn.MSELoss()(PRED, REAL.view(6, 1))),
    ({"type": "mae"}, "regression", (PRED,), REAL, lambda: nn.L1Loss()(PRED, REAL.view(6, 1))),
    ({"type": "huber", "delta": 0.5}, "regression", (PRED,), REAL, lambda: nn.HuberLoss(delta=0.5)(PRED, REAL.view(6, 1))),
    ({"type": "smooth_l1", "beta": 0.3}, "regression", (PRED,), REAL,
     lambda: nn.SmoothL1Loss(beta=0.3)(PRED, REAL.view(6, 1))),
    ({"type": "bce"}, "binary", (torch.sigmoid(PRED),), BIN,
     lambda: nn.BCELoss()(torch.sigmoid(PRED), BIN.float().view(6, 1))),
    ({"type": "bce_with_logits", "pos_weight": 2.0}, "binary", (PRED,), BIN,
     lambda: nn.BCEWithLogitsLoss(pos_weight=torch.tensor([2.0]))(PRED, BIN.float().view(6, 1))),
    ({"type": "cross_entropy", "label_smoothing": 0.1, "class_weights": [1.0, 2.0, 0.5, 1.0], "ignore_index": 2},
     "multiclass", (LOGITS,), LABELS,
     lambda: nn.CrossEntropyLoss(weight=torch.tensor([1.0, 2.0, 0.5, 1.0]), label_smoothing=0.1, ignore_index=2)(LOGITS, LABELS)),
    ({"type": "nll"}, "multiclass", (F.log_softmax(LOGITS, 1),), LABELS,
     lambda: nn.NLLLoss()(F.log_softmax(LOGITS, 1), LABELS)),
    ({"type": "kl_div"}, "multiclass", (F.log_softmax(LOGITS, 1),), F.softmax(E1[:, :4], 1),
     lambda: nn.KLDivLoss(reduction="batchmean")(F.log_softmax(LOGITS, 1), F.softmax(E1[:, :4], 1))),
    ({"type": "hinge", "margin": 0.5}, "multiclass", (LOGITS,), LABELS, lambda: nn.MultiMarginLoss(margin=0.5)(LOGITS, LABELS)),
    ({"type": "margin", "margin": 2.0}, "binary", (REAL,), PM,
     lambda: nn.HingeEmbeddingLoss(margin=2.0)(REAL, PM.float())),
    ({"type": "cosine_embedding", "margin": 0.2}, "regression", (E1, E2), PM,
     lambda: nn.CosineEmbeddingLoss(margin=0.2)(E1, E2, PM.float())),
    ({"type": "triplet", "margin": 0.7}, "regression", (E1, E2, E3), None,
     lambda: nn.TripletMarginLoss(margin=0.7)(E1, E2, E3)),
]


@pytest.mark.parametrize("data,mode,outputs,target,reference", CASES, ids=[c[0]["type"] for c in CASES])
def test_loss_matches_direct_torch(data, mode, outputs, target, reference):
    got = loss(data, mode)(outputs, target)
    assert torch.allclose(got, reference(), rtol=1e-6, atol=1e-7)


def test_focal_softmax_against_formula_and_gamma_zero_is_cross_entropy():
    got = loss({"type": "focal", "gamma": 2.0, "alpha": 0.25})((LOGITS,), LABELS)
    p = F.softmax(LOGITS, 1)[torch.arange(6), LABELS]
    want = (-0.25 * (1 - p) ** 2 * torch.log(p)).mean()
    assert torch.allclose(got, want, rtol=1e-6)
    assert torch.allclose(loss({"type": "focal", "gamma": 0.0})((LOGITS,), LABELS), F.cross_entropy(LOGITS, LABELS), rtol=1e-6)


def test_focal_sigmoid_against_formula():
    got = loss({"type": "focal", "gamma": 2.0, "alpha": 0.25}, "binary")((PRED,), BIN)
    y = BIN.float().view(6, 1)
    p = torch.sigmoid(PRED)
    p_t = p * y + (1 - p) * (1 - y)
    a_t = 0.25 * y + 0.75 * (1 - y)
    want = (-a_t * (1 - p_t) ** 2 * torch.log(p_t)).mean()
    assert torch.allclose(got, want, rtol=1e-5)


def test_contrastive_against_formula():
    y = torch.tensor([1, 0, 1, 0, 0, 1])
    got = loss({"type": "contrastive", "margin": 3.0}, "regression")((E1, E2), y)
    d = (E1 - E2 + 1e-6).norm(dim=1)
    want = (y * d**2 + (1 - y) * torch.clamp(3.0 - d, min=0) ** 2).mean()
    assert torch.allclose(got, want, rtol=1e-5)


def test_language_model_cross_entropy_flattens_sequences():
    logits = torch.randn(2, 5, 7, generator=g)
    nxt = torch.randint(0, 7, (2, 5), generator=g)
    nxt[0, 4] = -100
    got = loss({"type": "cross_entropy"}, "language_model")((logits,), nxt)
    assert torch.allclose(got, F.cross_entropy(logits.reshape(10, 7), nxt.reshape(10)))


def _loss_types() -> list[str]:
    """The `type` of every member of the spec's Loss union (so a new loss class shows up here by itself)."""
    from typing import Union, get_args

    from netspec.spec.train import Loss

    inner = get_args(Loss)[0]  # Annotated[Union[...], ...] -> Union[...]
    assert getattr(inner, "__origin__", None) is Union
    return [get_args(cls.model_fields["type"].annotation)[0] for cls in get_args(inner)]


def test_the_spec_union_is_the_loss_registry():
    from netspec.losses import LOSSES

    types = _loss_types()
    assert len(types) >= 16 and "cross_entropy" in types and "dice" in types
    assert types == LOSSES.tags()


@pytest.mark.parametrize("kind", _loss_types())
def test_each_builder_makes_a_callable_loss(kind):
    from netspec.spec.train import TrainSpec

    spec = TrainSpec.model_validate({"loss": {"type": kind}}).loss[0]
    assert callable(build_loss(spec, "regression"))


def test_an_unknown_loss_type_fails_loudly_instead_of_falling_through():
    from types import SimpleNamespace

    from netspec.registry import UnknownComponent

    with pytest.raises(UnknownComponent, match="unknown loss 'mystery'"):
        build_loss(SimpleNamespace(type="mystery", margin=1.0, class_weights=None), "regression")
