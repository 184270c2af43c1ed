"""What ``netspec validate`` checks in a ``tune:`` section (no torch, no optuna); ``netspec.check``
runs it, ``netspec.tune`` (the search) uses ``objective_metric``.

* the objective is a logged metric (a ``val.`` metric for k-fold cross-validation, which needs
  a ratio split: it folds the source table),
* every space key is a spec path outside ``tune:``, written once, with distinct choice values,
* ``when`` names an earlier parameter and, for a choice, values it can take,
* the grid sampler gets no conditional parameters,
* every corner of the space (each choice, each low and high) still gives a valid spec: the
  value is applied like ``--set`` and the document and its graphs are checked, so a typo in a
  path or a width that breaks a shape is found before any trial runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Optional

from ..errors import NetspecError, SpecError, SpecErrors, format_path
from ..graph import build_graphs
from ..spec.load import load_data, overrides, parse_path, validate

SPACE = ("tune", "space")


def objective_metric(spec: Any, plan: Any) -> str:
    metric = spec.tune.objective.metric
    if metric:
        return metric
    return plan.monitor if plan is not None and plan.monitor is not None else "val.loss"


def check_tune(spec: Any, file: str | Path, overrides: Iterable[str], plan: Any, errors: list[NetspecError]) -> None:
    tune = spec.tune
    if tune is None:
        return
    metric = objective_metric(spec, plan)
    if plan is not None and metric not in plan.logged:
        errors.append(SpecError(f"the objective {metric!r} is not a logged metric", path=("tune", "objective", "metric"),
                                hint=f"logged: {', '.join(k for k in plan.logged if k != 'lr')}"))
    if tune.evaluation.type == "kfold" and not metric.startswith("val."):
        errors.append(SpecError(f"cross-validation scores the validation folds; {metric!r} is not a val. metric",
                                path=("tune", "objective", "metric"), hint="e.g. val.loss or val.accuracy"))
    split = getattr(spec.data, "split", None) if spec.data is not None else None
    if tune.evaluation.type == "kfold" and getattr(split, "type", None) == "files":
        errors.append(SpecError("cross-validation folds the source table, but this spec validates on a separate file",
                                path=("tune", "evaluation"), hint="use evaluation: holdout, or a ratio data.split"))
    keys = list(tune.space)
    sound = [_check_param(keys, i, tune, errors) for i in range(len(keys))]
    for key, ok in zip(keys, sound):
        if ok:
            _check_corners(spec, file, list(overrides), key, errors)


def _check_param(keys: list[str], i: int, tune: Any, errors: list) -> bool:
    key, p = keys[i], tune.space[keys[i]]
    path = SPACE + (key,)
    try:
        parts = parse_path(key)
    except ValueError:
        errors.append(SpecError(f"{key!r} is not a spec path", path=path, at_key=True,
                                hint="keys as for --set: train.optimizer.lr, model.layers[0].linear.out_features"))
        return False
    if parts[0] in ("tune", "netspec", "extends"):
        errors.append(SpecError(f"{parts[0]}: cannot be searched", path=path, at_key=True))
        return False
    if any(q[: len(parts)] == parts or parts[: len(q)] == q for q in map(_parsed, keys[:i]) if q):
        errors.append(SpecError(f"{key!r} overlaps an earlier parameter of the space", path=path, at_key=True,
                                hint="search one value once (a choice of whole mappings covers its keys)"))
        return False
    ok = True
    if p.type == "choice" and len({json.dumps(v, sort_keys=True) for v in p.values}) < len(p.values):
        errors.append(SpecError("a value is listed twice", path=path + ("values",)))
        ok = False
    for cond, want in p.when.items():
        if cond not in keys[:i]:
            errors.append(SpecError(f"when names {cond!r}, which is not an earlier parameter of the space",
                                    path=path + ("when", cond), at_key=True, hint=f"earlier: {', '.join(keys[:i]) or 'none'}"))
            ok = False
            continue
        ref = tune.space[cond]
        wanted = want if isinstance(want, list) else [want]
        if ref.type == "choice" and any(w not in ref.values for w in wanted):
            errors.append(SpecError(f"{cond} never takes {want!r}", path=path + ("when", cond),
                                    hint=f"its values: {', '.join(json.dumps(v) for v in ref.values)}"))
            ok = False
    if tune.sampler.type == "grid" and p.when:
        errors.append(SpecError("the grid sampler tries every combination, so it cannot skip conditional parameters",
                                path=path + ("when",), at_key=True, hint="use sampler: tpe or random"))
        ok = False
    return ok


def _parsed(key: str) -> tuple:
    try:
        return parse_path(key)
    except ValueError:
        return ()


def _corners(p: Any) -> list[tuple[tuple, Any]]:
    if p.type == "choice":
        return [(("values", i), v) for i, v in enumerate(p.values)]
    return [(("low",), p.low), (("high",), p.high)]


def _check_corners(spec: Any, file: str | Path, base: list[str], key: str, errors: list) -> None:
    """Apply each corner value (with the values its conditions require) and check the result."""
    tune = spec.tune
    p = tune.space[key]
    conditions = {c: (w[0] if isinstance(w, list) else w) for c, w in p.when.items()}
    for where, value in _corners(p):
        problem = _first_problem(file, base + overrides({**conditions, key: value}))
        if problem is not None:
            message, hint = problem
            errors.append(SpecError(f"{key} = {json.dumps(value)} makes the spec invalid: {message}",
                                    path=SPACE + (key,) + where, hint=hint or "fix the path or narrow the range"))
            return


def _first_problem(file: str | Path, sets: list[str]) -> Optional[tuple[str, Optional[str]]]:
    try:
        data, smap = load_data(file, sets)
        spec = validate(data, smap)
        build_graphs(spec, data, [], source=smap)
    except NetspecError as exc:
        first = exc.errors[0] if isinstance(exc, SpecErrors) and exc.errors else exc
        where = format_path(first.path)
        return (f"{where}: {first.message}" if where else first.message), first.hint
    return None
