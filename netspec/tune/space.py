"""The search space of a ``tune:`` section, as Optuna suggestions and as ``--set`` overrides.

A trial's values are applied exactly like ``--set KEY=VALUE`` on the command line (the value
written as JSON, which is YAML), so a trial, the best spec and a hand-written ``--set`` agree.
Choices whose values are not all plain scalars (mappings, lists) are suggested by index and
decoded with ``spec_values``. No torch and no optuna import here.
"""

from __future__ import annotations

import math
from typing import Any, Optional

from ..spec.load import parse_path

_SCALARS = (str, int, float, bool, type(None))


def by_index(param: Any) -> bool:
    """A choice among mappings/lists (or mixed values) is sampled by its index."""
    return param.type == "choice" and not all(isinstance(v, _SCALARS) for v in param.values)


def active(param: Any, chosen: dict[str, Any]) -> bool:
    """Whether the parameter's ``when`` conditions hold for the values chosen so far."""
    for key, want in param.when.items():
        if key not in chosen:
            return False
        options = want if isinstance(want, list) else [want]
        if chosen[key] not in options:
            return False
    return True


def suggest(trial: Any, space: dict[str, Any]) -> dict[str, Any]:
    """Draw the trial's spec values (path -> value), skipping inactive conditional parameters."""
    chosen: dict[str, Any] = {}
    for key, p in space.items():
        if not active(p, chosen):
            continue
        if p.type == "choice":
            if by_index(p):
                chosen[key] = p.values[trial.suggest_categorical(key, list(range(len(p.values))))]
            else:
                chosen[key] = trial.suggest_categorical(key, list(p.values))
        elif p.type == "int":
            chosen[key] = trial.suggest_int(key, p.low, p.high, step=p.step, log=p.log)
        elif p.type == "uniform":
            chosen[key] = trial.suggest_float(key, p.low, p.high, step=p.step)
        else:
            chosen[key] = trial.suggest_float(key, p.low, p.high, log=True)
    return chosen


def spec_values(params: dict[str, Any], space: dict[str, Any]) -> dict[str, Any]:
    """Optuna's stored params -> spec values (choices by index decoded), in the space's order."""
    out = {}
    for key, p in space.items():
        if key in params:
            out[key] = p.values[int(params[key])] if by_index(p) else params[key]
    return out


def grid(space: dict[str, Any]) -> dict[str, list]:
    """The grid sampler's values per parameter (as Optuna stores them)."""
    out: dict[str, list] = {}
    for key, p in space.items():
        if p.type == "choice":
            out[key] = list(range(len(p.values))) if by_index(p) else list(p.values)
        elif p.type == "int":
            out[key] = list(range(p.low, p.high + 1, p.step))
        elif p.type == "uniform":
            n = p.grid_points
            out[key] = [p.low + (p.high - p.low) * i / (n - 1) for i in range(n)]
        else:
            lo, hi, n = math.log(p.low), math.log(p.high), p.grid_points
            out[key] = [math.exp(lo + (hi - lo) * i / (n - 1)) for i in range(n)]
    return out


def lookup(data: Any, key: str) -> Any:
    """The value at a spec path in loaded spec data; KeyError when it is not written."""
    cur = data
    for part in parse_path(key):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur):
            cur = cur[part]
        else:
            raise KeyError(key)
    return cur


def baseline(space: dict[str, Any], data: dict) -> Optional[dict[str, Any]]:
    """The spec's own values as Optuna params, for those written in the spec that lie in the space
    (None when there are none)."""
    params: dict[str, Any] = {}
    chosen: dict[str, Any] = {}
    for key, p in space.items():
        if not active(p, chosen):
            continue
        try:
            value = lookup(data, key)
        except KeyError:
            continue
        stored = _in_space(p, value)
        if stored is not None:
            params[key], chosen[key] = stored, value
    return params or None


def _in_space(p: Any, value: Any) -> Any:
    if p.type == "choice":
        for i, v in enumerate(p.values):
            if v == value and type(v) is type(value):
                return i if by_index(p) else v
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if p.type == "int":
        ok = isinstance(value, int) and p.low <= value <= p.high and (value - p.low) % p.step == 0
        return value if ok else None
    if not p.low <= value <= p.high:
        return None
    step = getattr(p, "step", None)
    if step is not None and abs(round((value - p.low) / step) * step - (value - p.low)) > 1e-9 * max(1.0, abs(value)):
        return None
    return float(value)
