"""k-fold cross-validation of one configuration: an evaluation mode for small data.

Each fold trains a fresh model with ``data.split = {type: kfold, k, fold, ...}`` (the k-fold
splits of ``netspec.data.split``, stratified by class when possible) and scores it on the held-out
fold; the configuration's score is the mean over folds (with their spread). ``on_fold(fold,
running_mean)`` lets a caller follow along (the tuner reports it to its pruner).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Optional

from ..check import check
from ..errors import TrainError
from ..spec.load import override


@dataclass
class CrossValidation:
    metric: str
    folds: list[float] = field(default_factory=list)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.folds)

    @property
    def std(self) -> float:
        return statistics.stdev(self.folds) if len(self.folds) > 1 else 0.0


def fold_split(k: int, fold: int, stratify: bool, seed: int) -> dict:
    return {"type": "kfold", "k": k, "fold": fold, "stratify": stratify, "seed": seed}


def split_seed(checked, seed: Optional[int]) -> int:
    """The fold seed: the one given, else the spec's own split seed, else 0."""
    if seed is not None:
        return seed
    split = getattr(checked.spec.data, "split", None)
    return getattr(split, "seed", 0) or 0


def score(result, metric: str) -> float:
    value = result.metrics.get(metric)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or math.isnan(value):
        raise TrainError(f"the run did not log a number for {metric!r}", path=("tune", "objective", "metric"),
                         hint=f"logged: {', '.join(k for k in result.metrics if '.' in k)}")
    return float(value)


def cross_validate(path: str | Path, overrides: Iterable[str] = (), k: int = 5, metric: str = "val.loss",
                   stratify: bool = True, seed: Optional[int] = None, epochs: Optional[int] = None,
                   device: Optional[str] = None,
                   on_fold: Optional[Callable[[int, float], None]] = None) -> CrossValidation:
    """Train and score the spec once per fold; no run directories are written."""
    from ..train.loop import fit
    from ..train.session import build_session

    sets = list(overrides)
    seed = split_seed(check(path, sets), seed)
    out = CrossValidation(metric)
    for fold in range(k):
        checked = check(path, sets + [override("data.split", fold_split(k, fold, stratify, seed))])
        result = fit(build_session(checked, epochs=epochs, device=device))
        out.folds.append(score(result, metric))
        if on_fold is not None:
            on_fold(fold, out.mean)
    return out
