"""`netspec tune SPEC`: search the spec's `tune:` space with Optuna; print the trials, write the best spec."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from .common import JsonOpt, SetOpt, SpecArg, user_errors
from .output import EXIT_INVALID, stdout_console


class TrialLine:
    """One line on stderr per finished trial (an Optuna callback; picklable for worker processes)."""

    def __init__(self, metric: str, space: dict) -> None:
        self.metric, self.space = metric, space

    def __call__(self, study: Any, trial: Any) -> None:
        from ..tune.space import spec_values

        state = trial.state.name.lower()
        value = f"{self.metric} {trial.value:.4g}" if trial.value is not None else state
        values = spec_values(trial.params, self.space)
        params = ", ".join(f"{label}={_short(v)}" for label, v in zip(_labels(list(values)), values.values()))
        note = f" ({trial.user_attrs['error']})" if trial.user_attrs.get("error") else ""
        print(f"trial {trial.number} {state}: {value}  [{params}]{note}", file=sys.stderr, flush=True)


def _labels(keys: list[str]) -> list[str]:
    """Column names: the last part of each path, with more parts where two would collide."""
    parts = [k.split(".") for k in keys]
    depth = [1] * len(keys)
    while True:
        labels = [".".join(p[-d:]) for p, d in zip(parts, depth)]
        clashes = {x for x in labels if labels.count(x) > 1}
        if not clashes:
            return labels
        depth = [d + 1 if lab in clashes and d < len(p) else d for p, d, lab in zip(parts, depth, labels)]
        if all(d >= len(p) for p, d, lab in zip(parts, depth, labels) if lab in clashes):
            return [".".join(p[-d:]) for p, d in zip(parts, depth)]


def _short(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return json.dumps(v) if isinstance(v, (dict, list)) else str(v)


def tune(
    spec: SpecArg,
    set_: SetOpt = None,
    trials: Annotated[Optional[int], typer.Option("--trials", min=1, help="Finished trials the study should reach "
                                                                            "(default tune.trials); with --resume, "
                                                                            "only the missing ones run.")] = None,
    timeout: Annotated[Optional[float], typer.Option("--timeout", min=0, help="Stop starting trials after S seconds.")] = None,
    jobs: Annotated[int, typer.Option("--jobs", min=1, help="Worker processes sharing the study.")] = 1,
    storage: Annotated[Optional[str], typer.Option("--storage", help="Study database, e.g. sqlite:///study.db "
                                                                     "(default: in memory; with --jobs, OUT/study.db).")] = None,
    study_name: Annotated[Optional[str], typer.Option("--study-name", help="Default tune.study_name, else the spec's name.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the study in --storage (after a kill, or to add trials).")] = False,
    epochs: Annotated[Optional[int], typer.Option("--epochs", min=1, help="Epochs per trial (default tune.epochs).")] = None,
    device: Annotated[Optional[str], typer.Option("--device", help="auto, cpu, cuda, cuda:N or mps.")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Folder for best.yaml, study.json and plots "
                                                              "(default runs/STUDY-tune).")] = None,
    plots: Annotated[bool, typer.Option("--plots", help="Also write optimization_history.png and param_importances.png.")] = False,
    json_: JsonOpt = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No per-trial lines on stderr.")] = False,
) -> None:
    """Search the spec's tune: space (Optuna): a table of trials, the best value, and the best spec as a
    complete YAML that netspec train accepts unchanged."""
    from ..errors import SpecError

    if resume and storage is None:
        raise typer.BadParameter("--resume continues a study kept in a database: give --storage "
                                 "(e.g. sqlite:///study.db)", param_hint="--resume")
    with user_errors(str(spec)):
        from ..check import check
        from ..spec.plan import plan_training
        from ..tune.checks import objective_metric
        from ..tune.results import best_values, header_for, trial_rows, write_best_spec, write_plots
        from ..tune.study import SearchConfig, default_storage, run_search

        sets = list(set_ or [])
        checked = check(spec, sets)
        t = checked.spec.tune
        if t is None:
            raise SpecError("the spec has no tune: section", path=(), hint="add tune: {space: {train.optimizer.lr: "
                                                                            "{type: log_uniform, low: 1.0e-4, high: 1.0e-2}}}")
        metric = objective_metric(checked.spec, plan_training(checked.spec, checked.graphs, [], []))
        name = study_name or t.study_name or checked.spec.name or spec.stem
        out_dir = out or Path("runs") / f"{name}-tune"
        if jobs > 1 and storage is None:
            out_dir.mkdir(parents=True, exist_ok=True)
            storage = default_storage(out_dir)
        config = SearchConfig(str(spec), sets, t, metric, name, storage, trials or t.trials,
                              timeout if timeout is not None else t.timeout_s, jobs, resume, epochs or t.epochs, device,
                              checked.loaded.data)
        _quiet_optuna()
        study, lost = run_search(config, () if quiet or json_ else (TrialLine(metric, t.space),))
        rows = trial_rows(study, t.space)
        best = best_values(study, t.space)
        out_dir.mkdir(parents=True, exist_ok=True)
        result: dict[str, Any] = {"study": name, "storage": storage, "metric": metric, "direction": config.direction,
                                  "recovered": lost, "trials": rows, "best": None, "best_spec": None, "plots": []}
        if best is not None:
            bt = study.best_trial
            result["best"] = {"number": bt.number, "value": bt.value, "params": best}
            result["best_spec"] = str(write_best_spec(spec, sets, best, out_dir / "best.yaml",
                                                      header_for(config, study, bt.value)))
        if plots and rows:
            result["plots"] = [str(p) for p in write_plots(study, out_dir)]
        (out_dir / "study.json").write_text(json.dumps(result, indent=1, default=str) + "\n", encoding="utf-8")
    _show(result, json_)
    if best is None:
        typer.echo("netspec: no trial completed (see the notes above)", err=True)
        raise typer.Exit(EXIT_INVALID)


def _quiet_optuna() -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # the per-trial lines are ours


def _show(result: dict, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(result, default=str))
        return
    from rich.table import Table

    keys = list(dict.fromkeys(k for r in result["trials"] for k in r["params"]))
    table = Table(title=f"study {result['study']}: {result['direction']} {result['metric']}")
    for col in ["#", "state", result["metric"], *_labels(keys), "s"]:
        table.add_column(col, no_wrap=True)
    table.add_column("note", overflow="fold")
    best = (result["best"] or {}).get("number")
    for r in result["trials"]:
        value = f"{r['value']:.4f}" if r["value"] is not None else ""
        cells = [str(r["number"]) + (" *" if r["number"] == best else ""), r["state"], value]
        cells += [_short(r["params"][k]) if k in r["params"] else "" for k in keys]
        cells += [f"{r['seconds']:.1f}" if r["seconds"] is not None else "", r["note"]]
        table.add_row(*cells)
    console = stdout_console()
    if not console.is_terminal:
        console.width = max(console.width, 160)
    console.print(table)
    if result["best"] is not None:
        b = result["best"]
        console.print(f"best: trial {b['number']}, {result['metric']} {b['value']:.6g}")
        for k, v in b["params"].items():
            console.print(f"  {k} = {_short(v)}")
        console.print(f"best spec: {result['best_spec']}")
    for p in result["plots"]:
        console.print(f"plot: {p}")
