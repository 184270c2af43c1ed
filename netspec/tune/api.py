"""The library entry point behind ``netspec tune``.

``tune_spec(path, overrides, trials=, timeout=, jobs=, storage=, study_name=, resume=, epochs=,
device=, out=, plots=, callbacks=)`` runs (or resumes) the search of the spec's ``tune:`` section
and returns the result as plain data: study, storage, metric and direction, the trials as rows,
the best trial, the paths of ``best.yaml``, ``study.json`` and the plots written to ``out``
(default ``runs/STUDY-tune``). Every NetspecError raised carries the spec's source map.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

from ..check import check
from ..checks.tune import objective_metric
from ..errors import NetspecError, SpecError


def tune_spec(path: str | Path, overrides: Iterable[str] = (), trials: Optional[int] = None,
              timeout: Optional[float] = None, jobs: int = 1, storage: Optional[str] = None,
              study_name: Optional[str] = None, resume: bool = False, epochs: Optional[int] = None,
              device: Optional[str] = None, out: Optional[str | Path] = None, plots: bool = False,
              callbacks: Iterable[Callable] = ()) -> dict[str, Any]:
    from ..checks.plan import plan_training
    from .study import SearchConfig, default_storage, require_optuna, run_search

    sets = list(overrides)
    checked = check(path, sets)
    try:
        t = checked.spec.tune
        if t is None:
            raise SpecError("the spec has no tune: section", path=(),
                            hint="add tune: {space: {train.optimizer.lr: {type: log_uniform, low: 1.0e-4, high: 1.0e-2}}}")
        require_optuna()  # before anything is written
        metric = objective_metric(checked.spec, plan_training(checked.spec, checked.graphs, [], []))
        name = study_name or t.study_name or checked.spec.name or Path(path).stem
        out_dir = Path(out) if out is not None else Path("runs") / f"{name}-tune"
        out_dir.mkdir(parents=True, exist_ok=True)
        storage = storage or (default_storage(out_dir) if jobs > 1 else None)
        config = SearchConfig(str(path), sets, t, metric, name, storage, trials or t.trials,
                              timeout if timeout is not None else t.timeout_s, jobs, resume, epochs or t.epochs, device,
                              checked.loaded.data)
        study, lost = run_search(config, tuple(callbacks))
        return _write_results(config, study, lost, out_dir, plots)
    except NetspecError as exc:
        if getattr(exc, "source", None) is None:
            exc.source = checked.loaded.source  # type: ignore[attr-defined]
        raise


def _write_results(config, study, lost: list[int], out_dir: Path, plots: bool) -> dict[str, Any]:
    from .results import best_values, header_for, trial_rows, write_best_spec, write_plots

    rows = trial_rows(study, config.tune.space)
    best = best_values(study, config.tune.space)
    result: dict[str, Any] = {"study": config.study_name, "storage": config.storage, "metric": config.metric,
                              "direction": config.direction, "recovered": lost, "trials": rows, "best": None,
                              "best_spec": None, "plots": []}
    if best is not None:
        bt = study.best_trial
        result["best"] = {"number": bt.number, "value": bt.value, "params": best}
        result["best_spec"] = str(write_best_spec(config.spec_path, config.overrides, best, out_dir / "best.yaml",
                                                  header_for(config, study, bt.value)))
    if plots and rows:
        result["plots"] = [str(p) for p in write_plots(study, out_dir)]
    (out_dir / "study.json").write_text(json.dumps(result, indent=1, default=str) + "\n", encoding="utf-8")
    return result
