"""One rank of a distributed ``netspec train``: join the group, train, leave the group.

``train_rank(launch, path, ...)`` is what ``netspec train`` runs when the environment gives it a
rank (the elastic launcher, ``torchrun`` or ``srun``). Rank 0 writes the run directory, metrics,
checkpoints (FSDP: every rank writes its shards) and the report; the other ranks train their
share (``follow.follow``) and take part in rank 0's collective steps. A lost peer (a rank that crashed
or was killed) surfaces as a TrainError saying so, instead of a backend traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Optional

from ...check import Checked, check
from ...errors import NetspecError, TrainError, raise_all
from ...spec.distributed import check_distributed
from ...spec.train import TrainSpec
from ..api import command_overrides, train_spec
from ..loop import RunResult
from ..session import located
from .env import LaunchEnv, export_env


def train_rank(launch: LaunchEnv, path: str | Path, overrides: Iterable[str] = (), epochs: Optional[int] = None,
               device: Optional[str] = None, out: Optional[str | Path] = None, resume: Optional[str | Path] = None,
               reporter: Any = None, overwrite: bool = False) -> RunResult:
    import torch.distributed as dist

    from .context import DistContext

    overrides = command_overrides(overrides, epochs, device)  # recorded in the run, like --set
    checked = checked_for_launch(path, overrides)
    train = checked.spec.train or TrainSpec()
    try:
        export_env(launch)
        ctx = DistContext.start(launch, train.distributed, train.device)
    except NetspecError as exc:
        raise located(exc, checked) from None
    try:
        result = train_spec(path, overrides, device=str(ctx.device), out=out, resume=resume,
                            reporter=reporter if ctx.is_main else None, dist=ctx, check_with=checked_for_launch,
                            overwrite=overwrite)
        ctx.barrier()  # no rank tears its group down while another still has collectives in flight
        return result
    except RuntimeError as exc:  # dist.DistError is one; gloo also raises plain RuntimeErrors
        if not isinstance(exc, dist.DistError) and not any(w in str(exc) for w in _PEER_LOST):
            raise
        raise TrainError(f"rank {ctx.rank} lost contact with the other processes of the run ({_reason(exc)})",
                         hint="another rank failed or was stopped; its own error says why") from None
    finally:
        ctx.close()


def _reason(exc: Exception) -> str:
    text = str(exc)
    known = next((w for w in _PEER_LOST[:3] if w in text), None)
    if known:
        return known.lower()
    first = next((line.strip() for line in text.splitlines() if line.strip()), type(exc).__name__)
    return first if len(first) <= 120 else first[:117] + "..."


#: what the backends say when a peer has gone away (crashed, killed, or stopped by the agent)
_PEER_LOST = ("Connection reset by peer", "Connection closed by peer", "Broken pipe", "gloo", "NCCL", "ProcessGroup")


def checked_for_launch(path: str | Path, overrides: Iterable[str] = ()) -> Checked:
    """``check`` plus the rules of distributed runs (also when the spec has no train.distributed)."""
    checked = check(path, list(overrides))
    errors: list = []
    check_distributed(checked.spec, errors, launched=True)
    try:
        raise_all(errors)
    except NetspecError as exc:
        raise located(exc, checked) from None
    return checked
