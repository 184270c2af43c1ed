"""The ``train.distributed:`` section: how a run spreads over several processes (torch.distributed).

The section only matters when the run is launched on several processes (``netspec train SPEC
--nproc-per-node N``, or under ``torchrun``/SLURM); a single-process run ignores it. Plain pydantic,
no torch. ``strategy`` is a ``type:``-tagged choice that also accepts the bare name::

    train:
      batch_size: 64                 # the GLOBAL batch: each of N processes gets 64 / N
      distributed: {strategy: fsdp}  # or ddp (the default), or {type: fsdp, reshard_after_forward: false}

``check_distributed`` holds the rules ``netspec validate`` checks (programs that cannot run
distributed yet, FSDP with several models, nccl on a CPU device).
"""

from typing import TYPE_CHECKING, Any, Literal, Union

from pydantic import Field

from ..errors import SpecError
from ..programs import PROGRAMS
from .base import PositiveFloat, PositiveInt, StrictModel, tagged


class Ddp(StrictModel):
    """DistributedDataParallel: every process holds the whole model; gradients are averaged across
    processes (weighted by each process's share of the global batch) during the backward pass."""
    type: Literal["ddp"]
    bucket_cap_mb: PositiveFloat = Field(25.0, description="Size of the gradient buckets reduced together (MiB).")
    find_unused_parameters: bool = Field(
        False, description="Allow parameters that take no part in a step's loss (slower; needed for conditional paths).")
    forward_sync_buffers: bool = Field(True, description="Copy rank 0's buffers (BatchNorm running statistics) to "
                                                         "every process at the start of each training forward pass.")


class Fsdp(StrictModel):
    """Fully sharded data parallel (FSDP2, ``fully_shard``): parameters, gradients and optimizer state
    are split across processes, so a model that does not fit one device can train on several.
    Checkpoints are sharded (torch.distributed.checkpoint) and load on any number of processes."""
    type: Literal["fsdp"]
    units: Literal["nodes", "model"] = Field(
        "nodes", description="nodes: each node with parameters is its own shard unit (its weights are gathered only "
                             "while it runs); model: the whole model is one unit.")
    reshard_after_forward: bool = Field(
        True, description="Free the gathered weights after each unit's forward pass (ZeRO-3); false keeps them "
                          "until the backward pass (ZeRO-2: more memory, fewer gathers).")
    cpu_offload: bool = Field(False, description="Keep parameter shards, gradients and optimizer state in CPU "
                                                 "memory between uses (GPU runs; slower, for the largest models).")


if TYPE_CHECKING:  # the union itself, for the type checker; pydantic gets the tagged (discriminated) form
    Strategy = Union[Ddp, Fsdp]
else:
    Strategy = tagged(Union[Ddp, Fsdp], "ddp: replicate the model; fsdp: shard it.")


class DistributedSpec(StrictModel):
    """Settings for runs on several processes (one per GPU, or several on CPU)."""
    strategy: Strategy = Field(default_factory=lambda: Ddp(type="ddp"))
    backend: Literal["auto", "nccl", "gloo"] = Field(
        "auto", description="Collective backend: auto picks nccl for CUDA devices and gloo for CPU.")
    timeout_s: PositiveInt = Field(
        1800, description="How long a process waits for the others in one collective before failing (seconds).")
    sync_batchnorm: bool = Field(
        True, description="On GPUs, BatchNorm layers normalize with statistics of the global batch (SyncBatchNorm); "
                          "on CPU each process uses its own share of the batch.")


def check_distributed(spec: Any, errors: list[Any], launched: bool = False) -> None:
    """Rules for ``train.distributed``: checked by ``netspec validate`` when the section is written,
    and (``launched``) before a distributed run starts, with the section's defaults when it is not."""
    train = spec.train
    dist = getattr(train, "distributed", None) if train is not None else None
    if dist is None and launched and train is not None:
        dist = DistributedSpec()
    if dist is None:
        return
    path = ("train", "distributed")
    program = train.program
    if not program.distributed:  # a program declares whether its forward passes go through the wrapped model
        can = ", ".join(tag for tag, cls in PROGRAMS.items() if cls.distributed)
        errors.append(SpecError(f"the {program.type} program cannot run distributed", path=("train", "program"),
                                hint=f"train it on one process; programs that can: {can}"))
    else:
        program.check_distributed(errors)
    if dist.strategy.type == "fsdp" and len(spec.model_defs()) > 1:
        errors.append(SpecError("fsdp shards one model; this spec has several", path=path + ("strategy",),
                                hint="use strategy: ddp for multi-model programs"))
    if dist.strategy.type == "fsdp":
        tb, ml = train.log.tensorboard_options(), train.log.mlflow_options()
        if tb is not None and tb.graph:
            errors.append(SpecError("a sharded model cannot be traced by one process for the TensorBoard graph",
                                    path=("train", "log", "tensorboard"), hint="tensorboard: {graph: false}"))
        if ml is not None and ml.log_model:
            errors.append(SpecError("a sharded model cannot be saved whole by one process for MLflow",
                                    path=("train", "log", "mlflow"), hint="mlflow: {log_model: false} (the run's "
                                                                          "checkpoints are logged as artefacts)"))
    if dist.backend == "nccl" and train.device == "cpu":
        errors.append(SpecError("the nccl backend needs CUDA devices, but train.device is cpu", path=path + ("backend",),
                                hint="use backend: gloo (or auto) on CPU"))
