"""One rank's view of a distributed run: the process group, its device, and the collectives the
runner needs (sums for metrics, rank 0's choices broadcast, a barrier).

``DistContext.start(launch, spec, device)`` joins the process group as the launch's rank (meeting
at the launcher's MASTER_ADDR/PORT); backend nccl for CUDA devices, gloo for CPU. Each rank uses
``cuda:LOCAL_RANK`` on GPUs. ``close()`` leaves the group (always, also after an error).
"""

from __future__ import annotations

import datetime
import random
from typing import Any, Optional

import numpy as np
import torch
import torch.distributed as dist

from ...errors import TrainError
from ...spec.distributed import DistributedSpec
from .env import LaunchEnv

DEVICE_PATH = ("train", "device")


def rank_device(device: str, launch: LaunchEnv) -> torch.device:
    """auto/cuda: this rank's GPU (cuda:LOCAL_RANK) when CUDA is there, else the CPU."""
    if device == "cpu":
        return torch.device("cpu")
    if device == "mps":
        raise TrainError("distributed training runs on CUDA devices or the CPU, not mps", path=DEVICE_PATH,
                         hint="use device: auto or cpu")
    if not torch.cuda.is_available():
        if device == "auto":
            return torch.device("cpu")
        raise TrainError(f"device {device} requested, but CUDA is not available", path=DEVICE_PATH, hint="use device: auto or cpu")
    if device.startswith("cuda:") and launch.local_world_size > 1:
        raise TrainError(f"{launch.local_world_size} processes on this node cannot all use {device}", path=DEVICE_PATH,
                         hint="use device: cuda (or auto): each process takes the GPU of its local rank")
    index = int(device.split(":")[1]) if ":" in device else launch.local_rank
    if index >= torch.cuda.device_count():
        raise TrainError(f"local rank {launch.local_rank} has no GPU: this node has {torch.cuda.device_count()}",
                         path=DEVICE_PATH, hint="start at most one process per GPU (--nproc-per-node)")
    return torch.device("cuda", index)


class DistContext:
    def __init__(self, launch: LaunchEnv, spec: DistributedSpec, device: torch.device) -> None:
        self.launch, self.spec, self.device = launch, spec, device
        self.rank, self.world_size = launch.rank, launch.world_size
        self.share: Any = None  # set by the sharded train loader: this rank's part of the current batch

    @classmethod
    def start(cls, launch: LaunchEnv, spec: Optional[DistributedSpec], device: str) -> "DistContext":
        spec = spec or DistributedSpec()
        dev = rank_device(device, launch)
        backend = spec.backend if spec.backend != "auto" else ("nccl" if dev.type == "cuda" else "gloo")
        if backend == "nccl" and dev.type != "cuda":
            raise TrainError("the nccl backend needs CUDA devices", path=("train", "distributed", "backend"),
                             hint="use backend: gloo (or auto) on CPU")
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        if not dist.is_initialized():
            kwargs = {"device_id": dev} if dev.type == "cuda" else {}
            dist.init_process_group(backend, rank=launch.rank, world_size=launch.world_size,
                                    timeout=datetime.timedelta(seconds=spec.timeout_s), **kwargs)
        return cls(launch, spec, dev)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def strategy(self) -> str:
        return self.spec.strategy.type

    def sum(self, *values: Any) -> list[float]:
        """Sum numbers (or 0-d tensors) over all ranks."""
        t = torch.stack([torch.as_tensor(v, dtype=torch.float64).to(self.device).reshape(()) for v in values])
        dist.all_reduce(t)
        return t.tolist()

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every rank (plain picklable data: paths, names, flags)."""
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def barrier(self) -> None:
        dist.barrier()

    def seed_rank(self, seed: int, epoch: int) -> None:
        """Distinct random streams per rank (dropout, noise): rank 0 keeps the run's own seed, so a
        one-process distributed run draws what a plain run draws."""
        if self.rank == 0:
            return
        s = (seed * 1_000_003 + self.rank * 7_919 + epoch) % 2**62
        random.seed(s)
        np.random.seed(s % 2**32)
        torch.manual_seed(s)

    def close(self) -> None:
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
