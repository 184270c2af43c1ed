"""Check a spec end to end without torch: load, validate, build every graph, infer shapes.

``check`` gathers the problems of all phases into one SpecErrors: when validation of the document
fails, the keys at fault are pruned from a copy and the graph is still built, so a misspelt key
and a shape mismatch are reported in the same run.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from .checks.tune import check_tune
from .errors import NetspecError, SpecErrors, SpecPath, raise_all
from .graph import Graph, build_graphs
from .spec.document import SPEC_VERSION
from .spec.load import LoadedSpec, load_data, validate


@dataclass
class Checked:
    loaded: LoadedSpec
    graphs: dict[str, Graph]
    warnings: list[NetspecError] = field(default_factory=list)
    overrides: list[str] = field(default_factory=list)  # the --set values applied (a run records them)

    @property
    def spec(self):
        return self.loaded.spec

    @property
    def graph(self) -> Graph:
        """The only model (``model``) or the first of ``models``."""
        return next(iter(self.graphs.values()))


def check(path: str | Path, overrides: Iterable[str] = ()) -> Checked:
    """Everything ``netspec validate`` checks. Raises SpecErrors (with ``.source``) on problems."""
    overrides = list(overrides)  # read twice: here and by the tune checks
    data, smap = load_data(path, overrides)
    errors: list[NetspecError] = []
    warnings: list[NetspecError] = []
    try:
        spec = validate(data, smap)
        pruned = data
    except SpecErrors as exc:
        errors += exc.errors
        pruned = _prune(data, [e.path for e in exc.errors])
        try:
            spec = validate(pruned, smap)
        except SpecErrors:
            _raise(errors, smap)
    before = len(errors)
    try:
        graphs = build_graphs(spec, pruned, warnings, source=smap)
    except SpecErrors as exc:
        errors += exc.errors
    except NetspecError as exc:
        errors.append(exc)
    plan = None
    if len(errors) == before:
        from .resources import check_resources

        errors += check_resources(spec, graphs)  # parameter and memory ceilings (netspec.limits)
    if len(errors) == before and (spec.train is not None or spec.data is not None):
        from .checks.plan import plan_training

        plan = plan_training(spec, graphs, errors, warnings)  # task defaults and cross-section rules
    if len(errors) == before:
        _check_scale_out(spec, path, overrides, plan, errors)
    if len(errors) == before and spec.train is not None:
        from .checks.performance import check_performance

        check_performance(spec, graphs, errors, warnings)  # train.performance / precision rules
    for w in warnings:  # the training rules' warnings are located in this spec too
        w.source = w.source or smap
    _raise(errors, smap)
    return Checked(LoadedSpec(spec, data, smap, str(path)), graphs, warnings, overrides)


def _check_scale_out(spec, path, overrides, plan, errors: list[NetspecError]) -> None:
    """train.distributed and tune: rules (the tune checks apply corners of the search space)."""
    from .spec.distributed import check_distributed

    check_distributed(spec, errors)
    if spec.tune is not None:
        check_tune(spec, path, overrides, plan, errors)


def _raise(errors: list[NetspecError], smap) -> None:
    try:
        raise_all(errors)
    except NetspecError as exc:
        exc.source = smap
        raise


def _prune(data: dict, paths: list[SpecPath]) -> dict:
    """A copy of ``data`` without the mapping entries at (or holding) the given paths."""
    out = copy.deepcopy(data)
    for path in paths:
        parent, key = None, None
        cur = out
        for part in path:
            if isinstance(cur, dict) and part in cur:
                parent, key, cur = cur, part, cur[part]
            elif isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur):
                cur = cur[part]
            else:
                break
        if parent is out and key == "netspec":
            out["netspec"] = SPEC_VERSION  # read the rest as the version we know
        elif parent is not None and key is not None:
            parent.pop(key, None)
    return out
