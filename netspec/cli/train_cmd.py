"""`netspec train SPEC`: train the spec's model on its data; results in a run directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from .common import JsonOpt, SetOpt, SpecArg, user_errors
from .distributed import EndpointOpt, NnodesOpt, NodeRankOpt, NprocOpt, RdzvIdOpt


def train(
    ctx: typer.Context,
    spec: SpecArg,
    set_: SetOpt = None,
    epochs: Annotated[Optional[int], typer.Option("--epochs", min=1, max=1_000_000, help="Override train.epochs.")] = None,
    device: Annotated[Optional[str], typer.Option("--device", help="auto, cpu, cuda, cuda:N or mps.")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Run directory (default runs/NAME-TIMESTAMP).")] = None,
    resume: Annotated[Optional[Path], typer.Option("--resume", help="Continue from a run directory or checkpoint.")] = None,
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="Start over in --out, removing the earlier run there (a folder netspec wrote).")] = False,
    json_: JsonOpt = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
    nproc_per_node: NprocOpt = None,
    nnodes: NnodesOpt = 1,
    node_rank: NodeRankOpt = None,
    rdzv_endpoint: EndpointOpt = None,
    rdzv_id: RdzvIdOpt = None,
) -> None:
    """Train a spec: data, model, loss and optimizer from the YAML; writes metrics.jsonl and checkpoints.
    With --nproc-per-node N it trains on N processes (train.distributed: ddp or fsdp); under torchrun or
    srun it trains as the rank the environment gives it."""
    from ..train.distributed.env import launch_env
    from .progress import reporter_for

    rank = launch_env()
    if nproc_per_node is not None or nnodes > 1:
        from ..train.distributed.launch import LaunchPlan
        from .distributed import launch_training, worker_argv

        if rank is not None:
            raise typer.BadParameter(f"this process is already rank {rank.rank} of a {rank.launcher} launch",
                                     param_hint="--nproc-per-node")
        plan = LaunchPlan(nproc_per_node or 1, nnodes, node_rank, rdzv_endpoint, rdzv_id)
        launch_training(spec, set_ or [], plan, worker_argv(ctx, spec, set_ or [], epochs, device, out, resume, json_, quiet,
                                                            overwrite))
        return
    reporter = reporter_for(quiet or json_ or (rank is not None and rank.rank != 0))
    if hasattr(reporter, "stage"):  # the first line, before torch is imported (seconds on a loaded machine)
        reporter.stage(f"{'resuming' if resume else 'training'} {spec}")
    try:
        with user_errors(str(spec)):
            if rank is None:
                from ..train.api import train_spec
                from ..train.signals import graceful_stop

                with graceful_stop():  # Ctrl-C / SIGTERM: checkpoint, then exit 130 / 143 (train/signals.py)
                    result = train_spec(spec, set_ or [], epochs=epochs, device=device, out=out, resume=resume,
                                        reporter=reporter, overwrite=overwrite)
            else:
                from ..train.distributed.worker import train_rank

                result = train_rank(rank, spec, set_ or [], epochs=epochs, device=device, out=out, resume=resume,
                                    reporter=reporter, overwrite=overwrite)
    finally:
        if hasattr(reporter, "close"):
            reporter.close()
    if rank is not None and rank.rank != 0:
        return  # rank 0 reports the run
    final = {k: v for k, v in result.metrics.items() if k.startswith(("train.", "val.", "test."))}
    report = Path(result.run_dir, "report.html") if result.run_dir else None
    summary = {"run_dir": result.run_dir, "epochs": result.epochs, "best_epoch": result.best_epoch,
               "stopped_epoch": result.stopped_epoch, "train_time_s": round(result.train_time_s, 3),
               "reported_epoch": result.reported_epoch, "restored_best": result.restored_best,
               "checkpoint": result.checkpoint, "report": str(report) if report and report.is_file() else None,
               "metrics": final}
    if result.run_dir:
        Path(result.run_dir, "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    if json_:
        typer.echo(json.dumps(summary))
        return
    if result.stopped_epoch and not quiet:
        typer.echo(f"early stopping at epoch {result.stopped_epoch}; best epoch {result.best_epoch}", err=True)
    typer.echo(closing_line(result, final, summary["report"]))


def closing_line(result, final: dict, report: Optional[str]) -> str:
    """``RUN: 30 epoch(s) in 4.1s; best epoch 21 (restored): val.accuracy 0.9714, ...; test.accuracy ...;
    weights RUN/best.pt; report RUN/report.html``."""
    which = f"best epoch {result.best_epoch} (restored)" if result.restored_best else f"last epoch {result.epochs}"
    shown = ", ".join(f"{k} {v:.4f}" for k, v in final.items() if isinstance(v, float))
    where = [f"weights {result.checkpoint}"] if result.checkpoint and Path(result.checkpoint).is_file() else []
    where += [f"report {report}"] if report else []
    head = f"{result.run_dir}: {result.epochs} epoch(s) in {result.train_time_s:.1f}s; {which}: {shown}"
    return "; ".join([head, *where])
