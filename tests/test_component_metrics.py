"""Every registered metric against an independent computation, by construction.

For each tag in ``METRICS`` and each task mode its class says it fits, the metric is read from its
``EXAMPLE`` (and from its bare name) through the spec's ``train.metrics`` union, built by
``MetricSet`` (its ``build``) and updated batch by batch on random predictions; the result must
equal the reference below (scikit-learn, or the formula by hand). A metric without a reference
fails ``test_every_metric_has_a_reference``; so does a reference for a metric that is gone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch
from sklearn import metrics as skm

from netspec.metrics import METRICS, MetricTask, metric_names
from netspec.programs.plan import TrainPlan, monitor_mode
from netspec.source import load_text
from netspec.spec.train import TrainSpec
from netspec.train.metrics import MetricSet

K, THRESHOLD, IGNORE = 4, 0.4, -100


@dataclass
class View:
    """What a reference reads: the targets and predictions of one task, flattened to samples."""
    kind: str  # binary | multilabel | multiclass | values
    y: np.ndarray
    pred: np.ndarray  # 0/1 decisions, class indices, or values
    scores: Any = None  # probabilities (binary, multilabel, multiclass) or logits (perplexity)
    k: int = K


def _cls_args(v: View, m: Any) -> dict:
    if v.kind == "binary":
        return {}
    if v.kind == "multilabel":
        return {"average": m.resolved_average}
    return {"average": m.resolved_average, "labels": list(range(v.k))}


def _accuracy(v: View, m: Any) -> float:
    if v.kind == "multilabel":
        return float((v.pred == v.y).mean())  # per label, then the mean: the same as pooled
    if v.kind == "multiclass" and m.resolved_average == "macro":
        return skm.recall_score(v.y, v.pred, average="macro", labels=list(range(v.k)), zero_division=0)
    return skm.accuracy_score(v.y, v.pred)


def _sk(fn: Callable) -> Callable:
    return lambda v, m: fn(v.y, v.pred, **_cls_args(v, m), zero_division=0)


def _auroc(v: View, m: Any) -> float:
    if v.kind == "multiclass":
        return skm.roc_auc_score(v.y, v.scores, multi_class="ovr", average=m.resolved_average, labels=list(range(v.k)))
    return skm.roc_auc_score(v.y, v.scores, **({"average": m.resolved_average} if v.kind == "multilabel" else {}))


def _confusion(v: View, m: Any) -> list:
    if v.kind == "multilabel":
        return skm.multilabel_confusion_matrix(v.y, v.pred).tolist()
    return skm.confusion_matrix(v.y, v.pred, labels=list(range(2 if v.kind == "binary" else v.k))).tolist()


def _perplexity(v: View, m: Any) -> float:
    logits, y = v.scores
    keep = y != IGNORE
    return float(torch.nn.functional.cross_entropy(logits[keep], y[keep]).exp())


#: tag -> (direction when monitored, reference value from a View and the metric's spec, its options)
REFERENCE: dict[str, tuple[str, Callable[[View, Any], Any]]] = {
    "accuracy": ("max", _accuracy),
    "precision": ("max", _sk(skm.precision_score)),
    "recall": ("max", _sk(skm.recall_score)),
    "f1": ("max", _sk(skm.f1_score)),
    "auroc": ("max", _auroc),
    "confusion_matrix": ("min", _confusion),
    "mse": ("min", lambda v, m: skm.mean_squared_error(v.y, v.pred)),
    "rmse": ("min", lambda v, m: np.sqrt(skm.mean_squared_error(v.y, v.pred))),
    "mae": ("min", lambda v, m: skm.mean_absolute_error(v.y, v.pred)),
    "r2": ("max", lambda v, m: skm.r2_score(v.y, v.pred)),
    "perplexity": ("min", _perplexity),
    "exact_match": ("max", lambda v, m: float(np.mean([(p == t)[t != IGNORE].all() for p, t in zip(v.pred, v.y)]))),
    "iou": ("max", _sk(skm.jaccard_score)),
    "dice": ("max", _sk(skm.f1_score)),  # the Dice score of 0/1 decisions is their F1 score
    "cohen_kappa": ("max", lambda v, m: skm.cohen_kappa_score(v.y, v.pred, weights=m.weights)),
}


def _data(mode: str, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Random model outputs and targets of a task, as the trainer hands them to MetricSet."""
    if mode == "binary":
        return torch.randn(120, 1, generator=g), torch.randint(0, 2, (120,), generator=g)
    if mode == "multilabel":
        return torch.randn(120, K, generator=g), torch.randint(0, 2, (120, K), generator=g)
    if mode == "multiclass":
        return torch.randn(120, K, generator=g), torch.randint(0, K, (120,), generator=g)
    if mode == "segmentation":
        return torch.randn(12, K, 5, 5, generator=g), torch.randint(0, K, (12, 5, 5), generator=g)
    if mode in ("language_model", "seq2seq"):
        y = torch.randint(0, K, (24, 6), generator=g)
        y[torch.rand(24, 6, generator=g) < 0.2] = IGNORE  # padding
        return torch.randn(24, 6, K, generator=g), y
    if mode == "regression":
        pred = torch.randn(120, 1, generator=g)
        return pred, pred.reshape(-1) * 0.5 + torch.randn(120, generator=g)
    assert mode == "reconstruction", mode
    pred = torch.randn(40, 3, 4, generator=g)
    return pred, pred * 0.7 + 0.3 * torch.randn(40, 3, 4, generator=g)


def _view(mode: str, out: torch.Tensor, y: torch.Tensor, spec: Any) -> View:
    if mode == "binary":
        p = torch.sigmoid(out).reshape(-1).numpy()
        return View("binary", y.numpy(), (p >= THRESHOLD).astype(int), p)
    if mode == "multilabel":
        p = torch.sigmoid(out).numpy()
        return View("multilabel", y.numpy(), (p >= THRESHOLD).astype(int), p)
    if mode in ("regression", "reconstruction"):
        return View("values", y.reshape(-1).numpy(), out.reshape(-1).numpy())
    if spec.SEQUENCES:
        return View("sequences", y.numpy(), y.numpy(), (out, y))
    if mode == "segmentation":
        out = out.movedim(1, -1)  # (N, H, W, C): one row per pixel
    logits, target = out.reshape(-1, K), y.reshape(-1)
    keep = target != IGNORE
    logits, target = logits[keep], target[keep]
    return View("multiclass", target.numpy(), logits.argmax(1).numpy(), torch.softmax(logits, 1).numpy())


def _cases() -> list:
    return [pytest.param(tag, mode, form, id=f"{tag}-{mode}-{form}")
            for tag, cls in METRICS.items() for mode in sorted(cls.TASKS) for form in ("example", "name")]


def _spec(tag: str, form: str) -> Any:
    item = load_text(METRICS.get(tag).EXAMPLE, "EXAMPLE")[0] if form == "example" else tag
    (spec,) = TrainSpec.model_validate({"metrics": [item]}).metrics
    assert type(spec) is METRICS.get(tag)
    return spec


def test_every_metric_has_a_reference():
    assert set(REFERENCE) == set(METRICS.tags())


@pytest.mark.parametrize("tag, mode, form", _cases())
def test_metric_matches_its_reference(tag, mode, form):
    spec = _spec(tag, form)
    g = torch.Generator().manual_seed(sum(map(ord, tag + mode)))
    out, y = _data(mode, g)
    if spec.DECODED:  # updated with decoded sequences (N, L), not with logits
        metric = spec.build(MetricTask(mode, K, ignore_index=IGNORE))
        pred = out.argmax(-1)
        exact = torch.rand(len(y), generator=g) < 0.5
        pred[exact] = y[exact].clamp(min=0)  # half the rows decoded right (their padding is ignored)
        for s in range(0, len(y), 10):
            metric.update(pred[s: s + 10], y[s: s + 10])
        got, view = float(metric.compute()), View("sequences", y.numpy(), pred.numpy())
    else:
        plan = TrainPlan(mode, K, [], [spec], [], "val.loss", "min")
        ignore = IGNORE if mode in ("language_model", "seq2seq") else None
        ms = MetricSet([spec], plan, torch.device("cpu"), threshold=THRESHOLD, ignore=ignore)
        step = max(1, len(y) // 3)
        for s in range(0, len(y), step):  # accumulated over several batches
            ms.update(out[s: s + step], y[s: s + step])
        got, view = ms.compute()[spec.key], _view(mode, out, y, spec)
    want = REFERENCE[tag][1](view, spec)
    if isinstance(want, list):
        assert got == want
    else:
        assert got == pytest.approx(float(want), rel=1e-4, abs=1e-6)


@pytest.mark.parametrize("tag", METRICS.tags())
def test_metric_direction_and_shorthand(tag):
    cls = METRICS.get(tag)
    assert cls.direction() == REFERENCE[tag][0] == monitor_mode(f"val.{tag}")
    assert monitor_mode(f"val.{tag}", "min" if REFERENCE[tag][0] == "max" else "max") != REFERENCE[tag][0]
    for avg in ("macro", "micro") if cls.takes_average() else ():
        (spec,) = TrainSpec.model_validate({"metrics": [f"{tag}_{avg}"]}).metrics
        assert (spec.type, spec.average, spec.key) == (tag, avg, f"{tag}_{avg}")
        assert monitor_mode(f"val.{tag}_{avg}") == REFERENCE[tag][0]
    assert set(metric_names()) >= {tag} | ({f"{tag}_macro", f"{tag}_micro"} if cls.takes_average() else set())
