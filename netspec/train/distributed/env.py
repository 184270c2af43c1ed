"""Is this process one rank of a distributed launch? Read from the environment, no torch.

* ``torchrun`` (and netspec's own launcher, which is PyTorch's elastic agent) sets ``RANK``,
  ``WORLD_SIZE``, ``LOCAL_RANK``, ``LOCAL_WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT``.
* ``srun`` (SLURM) sets ``SLURM_PROCID``, ``SLURM_NTASKS``, ``SLURM_LOCALID`` and the step's
  ``SLURM_STEP_ID``; the rendezvous address comes from ``MASTER_ADDR`` / ``MASTER_PORT``, which
  the job script exports (see docs/guide/06-distributed.md). A SLURM job with one task is not
  distributed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping, Optional

from ...errors import TrainError

DEFAULT_PORT = 29500


@dataclass(frozen=True)
class LaunchEnv:
    rank: int
    world_size: int
    local_rank: int
    local_world_size: int
    launcher: str  # "torchrun" (any env:// launcher) or "slurm"


def launch_env(environ: Optional[Mapping[str, str]] = None) -> Optional[LaunchEnv]:
    """The rank this process has been given, or None for an ordinary single-process run."""
    env = os.environ if environ is None else environ
    if "RANK" in env and "WORLD_SIZE" in env:
        world = _int(env, "WORLD_SIZE")
        return LaunchEnv(_int(env, "RANK"), world, _int(env, "LOCAL_RANK", 0), _int(env, "LOCAL_WORLD_SIZE", world),
                         "torchrun")
    if "SLURM_PROCID" in env and "SLURM_STEP_ID" in env and _int(env, "SLURM_NTASKS", 1) > 1:
        world = _int(env, "SLURM_NTASKS")
        per_node = env.get("SLURM_STEP_TASKS_PER_NODE", env.get("SLURM_NTASKS_PER_NODE", str(world)))
        return LaunchEnv(_int(env, "SLURM_PROCID"), world, _int(env, "SLURM_LOCALID", 0),
                         int(per_node.split("(")[0].split(",")[0]), "slurm")
    return None


def export_env(launch: LaunchEnv, environ: Optional[dict] = None) -> None:
    """Make a SLURM launch look like torchrun's (the variables ``init_process_group`` reads)."""
    env = os.environ if environ is None else environ
    if launch.launcher != "slurm":
        return
    if "MASTER_ADDR" not in env:
        raise TrainError("SLURM started this task, but MASTER_ADDR is not set",
                         hint="in the job script: export MASTER_ADDR=$(scontrol show hostnames \"$SLURM_JOB_NODELIST\" "
                              "| head -n 1) (see docs/guide/06-distributed.md)")
    env.setdefault("MASTER_PORT", str(DEFAULT_PORT))
    env.update({"RANK": str(launch.rank), "WORLD_SIZE": str(launch.world_size), "LOCAL_RANK": str(launch.local_rank),
                "LOCAL_WORLD_SIZE": str(launch.local_world_size)})


def _int(env: Mapping[str, str], key: str, default: Optional[int] = None) -> int:
    value = env.get(key)
    if value is None and default is not None:
        return default
    try:
        return int(str(value))
    except ValueError:
        raise TrainError(f"environment variable {key}={value!r} is not an integer",
                         hint="it is set by the launcher (torchrun, srun); unset it to train on one process") from None
