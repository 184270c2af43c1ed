"""What a search produces: its trials as rows, the best spec as a complete YAML file, plots.

The best spec is the original spec's data (its ``extends`` merged) with the best trial's values
applied exactly as ``--set`` would apply them, the ``tune:`` section dropped, and file paths
(data sources, split files, pretrained weights) rewritten relative to the file's new folder, so
``netspec train best.yaml`` runs it unchanged. Plots (optimization history, parameter
importances) are drawn with Optuna's matplotlib backend.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Optional

from ..render import to_yaml
from ..spec.load import load_data, overrides
from .space import spec_values

#: spec paths that name files relative to the spec
FILE_PATHS = (("data", "source", "path"), ("data", "split", "val"), ("data", "split", "test"), ("train", "pretrained", "path"))


def trial_rows(study: Any, space: dict) -> list[dict[str, Any]]:
    """number, state, value, params (spec values), seconds, steps reported, and a note."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        seconds = (t.datetime_complete - t.datetime_start).total_seconds() if t.datetime_complete and t.datetime_start else None
        rows.append({"number": t.number, "state": t.state.name.lower(), "value": t.value,
                     "params": spec_values(t.params, space), "seconds": seconds,
                     "steps": len(t.intermediate_values), "note": _note(t)})
    return rows


def _note(t: Any) -> str:
    attrs = t.user_attrs
    parts = []
    if attrs.get("baseline"):
        parts.append("the spec's own values")
    if "retry_of" in attrs or "failed_trial" in t.system_attrs:
        parts.append(f"retry of trial {attrs.get('retry_of', '?')}")
    if t.state.name == "PRUNED" and t.intermediate_values:
        parts.append(f"pruned after step {max(t.intermediate_values)}")
    if attrs.get("error"):
        parts.append(attrs["error"])
    if attrs.get("folds"):
        parts.append("folds " + ", ".join(f"{v:.4g}" for v in attrs["folds"]))
    return "; ".join(parts)


def best_values(study: Any, space: dict) -> Optional[dict[str, Any]]:
    from optuna.trial import TrialState

    if not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        return None
    return spec_values(study.best_trial.params, space)


def best_spec_text(spec_path: str | Path, base_overrides: list[str], values: dict[str, Any], out_file: Path,
                   header: str = "") -> str:
    data, _ = load_data(spec_path, list(base_overrides) + overrides(values))
    data.pop("tune", None)
    _rebase(data, Path(spec_path).resolve().parent, out_file.resolve().parent)
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    return ("\n".join(lines) + "\n" if lines else "") + to_yaml(data)


def write_best_spec(spec_path: str | Path, base_overrides: list[str], values: dict[str, Any], out_file: Path,
                    header: str = "") -> Path:
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(best_spec_text(spec_path, base_overrides, values, out_file, header), encoding="utf-8")
    return out_file


def _rebase(data: dict, src: Path, dst: Path) -> None:
    for path in FILE_PATHS:
        parent = data
        for part in path[:-1]:
            parent = parent.get(part) if isinstance(parent, dict) else None
        if isinstance(parent, dict) and isinstance(parent.get(path[-1]), str) and not os.path.isabs(parent[path[-1]]):
            if src != dst:
                parent[path[-1]] = os.path.relpath(src / parent[path[-1]], dst)


def header_for(config: Any, study: Any, best_value: float) -> str:
    stamp = time.strftime("%Y-%m-%d %H:%M")
    epochs = f"{config.epochs} epoch(s) per trial" if config.epochs else "the spec's epochs per trial"
    return (f"The best configuration of study {config.study_name!r} ({len(study.trials)} trials, {stamp}):\n"
            f"{config.metric} {best_value:.6g} with {epochs}. Written by netspec tune from {config.spec_path}.")


def write_plots(study: Any, out_dir: Path) -> list[Path]:
    """optimization_history.png and (with two or more complete trials) param_importances.png."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.trial import TrialState
    from optuna.visualization import matplotlib as ovm

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    plots = [("optimization_history.png", ovm.plot_optimization_history)]
    if len(complete) >= 2 and any(len({str(t.params.get(k)) for t in complete}) > 1 for k in complete[0].params):
        plots.append(("param_importances.png", ovm.plot_param_importances))
    for name, plot in plots:
        ax = plot(study)
        fig = ax.figure if hasattr(ax, "figure") else ax.flat[0].figure
        fig.tight_layout()
        fig.savefig(out_dir / name, dpi=110)
        plt.close(fig)
        written.append(out_dir / name)
    return written
