"""`netspec tune SPEC`: search the spec's `tune:` space with Optuna; print the trials, write the best spec."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from .common import DeviceOpt, JsonOpt, SetOpt, SpecArg, output_folder, user_errors
from .output import EXIT_INVALID, stdout_console


class TrialLine:
    """One line on stderr per finished trial (an Optuna callback; picklable for worker processes)."""

    def __init__(self, spec: Path, sets: list[str]) -> None:
        self.spec, self.sets, self.space = spec, sets, None

    def __call__(self, study: Any, trial: Any) -> None:
        from ..tune.space import spec_values

        if self.space is None:  # read once, in the process that runs the trials
            from ..spec.load import load_spec

            self.space = load_spec(self.spec, self.sets).spec.tune.space
        metric = study.user_attrs.get("metric", "value")
        state = trial.state.name.lower()
        value = f"{metric} {trial.value:.4g}" if trial.value is not None else state
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
    trials: Annotated[Optional[int], typer.Option("--trials", min=1, max=100_000, help="Finished trials the study should reach "
                                                                            "(default tune.trials); with --resume, "
                                                                            "only the missing ones run.")] = None,
    timeout: Annotated[Optional[float], typer.Option("--timeout", min=0, help="Stop starting trials after S seconds.")] = None,
    jobs: Annotated[int, typer.Option("--jobs", min=1, max=256, help="Worker processes sharing the study "
                                                                     "(at most one per trial still to run).")] = 1,
    storage: Annotated[Optional[str], typer.Option("--storage", help="Study database, e.g. sqlite:///study.db "
                                                                     "(default: in memory; with --jobs, OUT/study.db).",
                                                                     callback=_storage_url)] = None,
    study_name: Annotated[Optional[str], typer.Option("--study-name", help="Default tune.study_name, else the spec's name.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the study in --storage (after a kill, or to add trials).")] = False,
    epochs: Annotated[Optional[int], typer.Option("--epochs", min=1, max=1_000_000,
                                                                    help="Epochs per trial (default tune.epochs).")] = None,
    device: DeviceOpt = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Folder for best.yaml, study.json and plots "
                                                              "(default runs/STUDY-tune).", callback=output_folder)] = None,
    plots: Annotated[bool, typer.Option("--plots", help="Also write optimization_history.png and param_importances.png.")] = False,
    json_: JsonOpt = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No per-trial lines on stderr.")] = False,
) -> None:
    """Search the spec's tune: space (Optuna): a table of trials, the best value, and the best spec as a
    complete YAML that netspec train accepts unchanged."""
    if resume and storage is None:
        raise typer.BadParameter("--resume continues a study kept in a database: give --storage "
                                 "(e.g. sqlite:///study.db)", param_hint="--resume")
    with user_errors(str(spec)):
        from ..tune.api import tune_spec

        _quiet_optuna()
        lines = () if quiet or json_ else (TrialLine(spec, set_ or []),)
        result = tune_spec(spec, set_ or [], trials=trials, timeout=timeout, jobs=jobs, storage=storage,
                           study_name=study_name, resume=resume, epochs=epochs, device=device, out=out, plots=plots,
                           callbacks=lines)
    _show(result, json_)
    if result["best"] is None:
        typer.echo("netspec: no trial completed (see the notes above)", err=True)
        raise typer.Exit(EXIT_INVALID)


def _storage_url(value: Optional[str]) -> Optional[str]:
    """--storage is a database URL Optuna can open; a sqlite file's folder must exist (checked before any trial)."""
    if value is None:
        return value
    scheme, sep, rest = value.partition("://")
    if not sep or not scheme or not scheme.replace("+", "").replace("_", "").isalnum():
        raise typer.BadParameter(f"{value!r} is not a database URL; give e.g. sqlite:///study.db or "
                                 "postgresql://user@host/db")
    if scheme.split("+")[0] == "sqlite":
        if not rest.startswith("/"):
            raise typer.BadParameter(f"{value!r}: a sqlite URL names its file after three slashes, e.g. sqlite:///study.db")
        file = Path(rest[1:] or ".")
        if file.is_dir():
            raise typer.BadParameter(f"{file} is a folder; give the database file, e.g. sqlite:///{file}/study.db")
        if not file.parent.is_dir():
            raise typer.BadParameter(f"the folder {file.parent} of the database does not exist; create it first")
    return value


def _quiet_optuna() -> None:
    try:
        import optuna
    except ImportError:
        return  # tune_spec reports the missing package, located at the spec's tune: section
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
