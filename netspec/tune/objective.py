"""One trial of a search: the trial's values applied like ``--set``, a training run, its score.

Trials write no run directory (the best spec is what a search produces; ``netspec train`` on it
gives the run). The loop's per-epoch report is the pruner's feed: ``PruningReporter.epoch``
reports the objective metric for that epoch and raises ``optuna.TrialPruned`` when the pruner
says stop. With k-fold evaluation the running mean after each fold is reported instead.
"""

from __future__ import annotations

import math
import os
import socket
from pathlib import Path
from typing import Any, Optional

from ..check import check
from ..errors import NetspecError
from ..spec.load import overrides
from .crossval import cross_validate, score
from .space import suggest


class PruningReporter:
    """A loop reporter (start/batch/epoch) that feeds the objective metric to the trial's pruner."""

    def __init__(self, trial: Any, metric: str) -> None:
        self.trial, self.metric = trial, metric

    def start(self, total_epochs: int, batches_per_epoch: int, first_epoch: int) -> None:
        pass

    def batch(self, epoch: int, index: int, samples: int) -> None:
        pass

    def epoch(self, row: dict) -> None:
        value = row.get(self.metric)
        if isinstance(value, (int, float)) and not math.isnan(value):
            self.report(float(value), int(row["epoch"]))

    def report(self, value: float, step: int) -> None:
        import optuna

        self.trial.report(value, step)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"pruned at step {step} ({self.metric} {value:.4g})")


class Objective:
    """Picklable (for worker processes): everything a trial needs, but no live objects."""

    def __init__(self, spec_path: str | Path, base_overrides: list[str], tune: Any, metric: str,
                 epochs: Optional[int] = None, device: Optional[str] = None) -> None:
        self.spec_path, self.base, self.tune, self.metric = str(spec_path), list(base_overrides), tune, metric
        self.epochs, self.device = epochs, device

    def __call__(self, trial: Any) -> float:
        trial.set_user_attr("host", socket.gethostname())
        trial.set_user_attr("pid", os.getpid())
        # tune=null: a trial is an ordinary run (and its check skips the search-space checks)
        sets = self.base + ["tune=null"] + overrides(suggest(trial, self.tune.space))
        reporter = PruningReporter(trial, self.metric)
        try:
            if self.tune.evaluation.type == "kfold":
                ev = self.tune.evaluation
                cv = cross_validate(self.spec_path, sets, ev.k, self.metric, ev.stratify, ev.seed, self.epochs,
                                    self.device, on_fold=lambda fold, mean: reporter.report(mean, fold))
                trial.set_user_attr("folds", cv.folds)
                return cv.mean
            return self.holdout(sets, reporter)
        except NetspecError as exc:
            trial.set_user_attr("error", str(exc).splitlines()[0][:300])
            raise

    def holdout(self, sets: list[str], reporter: PruningReporter) -> float:
        from ..train.loop import fit
        from ..train.session import build_session

        session = build_session(check(self.spec_path, sets), epochs=self.epochs, device=self.device)
        return score(fit(session, None, reporter), self.metric)
