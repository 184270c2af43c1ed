"""``netspec train --nproc-per-node N``: the launch options, and starting the workers.

The spec is validated here first (a typo is reported once, before any worker starts); the
workers are ``netspec train`` again, with the same arguments, under PyTorch's elastic agent.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Optional

import typer

from .common import user_errors
from .output import EXIT_INVALID, debug_enabled

NprocOpt = Annotated[Optional[int], typer.Option(
    "--nproc-per-node", min=1, help="Train on N processes on this node (one per GPU, or several on CPU); launched "
                                    "with PyTorch's elastic agent, as torchrun does.")]
NnodesOpt = Annotated[int, typer.Option("--nnodes", min=1, help="Number of nodes (run the same command on each).")]
NodeRankOpt = Annotated[Optional[int], typer.Option("--node-rank", min=0, help="This node's rank (0 .. nnodes-1); "
                                                                              "static rendezvous at --rdzv-endpoint.")]
EndpointOpt = Annotated[Optional[str], typer.Option("--rdzv-endpoint", help="HOST:PORT every node meets at (node 0's "
                                                                            "address for --node-rank).")]
RdzvIdOpt = Annotated[Optional[str], typer.Option("--rdzv-id", help="Job id shared by all nodes (without --node-rank).")]


def worker_argv(ctx: typer.Context, spec: Path, sets: list[str], epochs: Optional[int], device: Optional[str],
                out: Optional[Path], resume: Optional[Path], json_: bool, quiet: bool, overwrite: bool = False) -> list[str]:
    """The arguments each worker runs ``netspec`` with (global --plugin options first)."""
    root = ctx.find_root()
    argv = [a for m in (root.params.get("plugin") or []) for a in ("--plugin", m)]
    argv += ["train", str(spec)]
    argv += [a for s in sets for a in ("--set", s)]
    for flag, value in (("--epochs", epochs), ("--device", device), ("--out", out), ("--resume", resume)):
        if value is not None:
            argv += [flag, str(value)]
    return argv + (["--json"] if json_ else []) + (["--quiet"] if quiet else []) + (["--overwrite"] if overwrite else [])


def launch_training(spec: Path, sets: list[str], plan, argv: list[str]) -> None:
    from ..train.distributed.launch import LaunchFailed, LaunchInterrupted, launch
    from ..train.distributed.worker import checked_for_launch

    problem = plan.check()
    if problem:
        raise typer.BadParameter(problem, param_hint="--nproc-per-node/--nnodes")
    with user_errors(str(spec)):
        checked_for_launch(spec, sets)
    if not debug_enabled():
        _quiet_agent()
    try:
        launch(plan, argv)
    except LaunchFailed as exc:
        typer.echo(f"netspec: {exc.message}\n  hint: {exc.hint}", err=True)
        raise typer.Exit(EXIT_INVALID) from None
    except LaunchInterrupted as exc:
        typer.echo(f"netspec: {exc.message}", err=True)
        raise typer.Exit(130) from None


def _quiet_agent() -> None:
    """The agent's log lines repeat what the failure summary says; each of its loggers sets its own level."""
    import torch.distributed.launcher.api  # noqa: F401 - creates the agent's loggers

    for name in list(logging.root.manager.loggerDict):
        if name.startswith(("torch.distributed.elastic", "torch.distributed.launcher")):
            logging.getLogger(name).setLevel(logging.CRITICAL)
