"""Wrapping the compiled models for a distributed run, and putting saved state back into them.

* DDP: each model is replicated; gradients are averaged during the backward pass by a
  communication hook that weights each rank by its share of the global batch (``BatchShare``),
  so the average equals the single-process batch mean even when the last batch is uneven.
  ``_Replicated`` is DistributedDataParallel plus two conveniences: attributes of the model
  (``input_names``, ``output_names``) are read through it, and forward passes without gradients
  (evaluation, decoding, reports) run the local model directly, with no collective.
* FSDP (FSDP2 ``fully_shard``): each node with parameters becomes a shard unit (``units: nodes``),
  then the model itself; the model is sharded in place, so ``session.models`` and the programs
  keep using it. Every rank must run every forward pass (evaluation included). FSDP averages
  gradients over ranks; a gradient hook on the model's outputs scales each rank's gradient by its
  batch share first, so the average is again the batch mean.
* On GPUs, BatchNorm layers become SyncBatchNorm first (``sync_batchnorm``).
"""

from __future__ import annotations

from collections import Counter
from functools import partial
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ...errors import TrainError
from .context import DistContext
from .sharding import BatchShare, shard_loaders


class _Replicated(DistributedDataParallel):
    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            if name == "module":
                raise
            return getattr(self.module, name)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        if not torch.is_grad_enabled():
            return self.module(*args, **kwargs)
        return super().forward(*args, **kwargs)


def _weighted_mean(share, bucket):  # unannotated: DDP checks the annotations of a hook's signature
    """Σ over ranks of (rank's samples / batch samples) · rank's mean gradient = the batch mean."""
    buf = bucket.buffer()
    buf.mul_(share.value)
    fut = dist.all_reduce(buf, async_op=True).get_future()
    return fut.then(lambda f: f.value()[0])


def distribute(ctx: DistContext, bundle: Any, models: dict[str, nn.Module], train: Any) -> dict[str, nn.Module]:
    """Shard the data loaders and wrap the models; returns the modules the programs call."""
    if train.unfreeze:
        raise TrainError("unfreezing during a distributed run is not supported: the synchronized parameters are fixed "
                         "when the run starts", path=("train", "unfreeze"),
                         hint="train the frozen stage, then a second run with pretrained: {path: ...} and no freeze")
    ctx.share = BatchShare(ctx.world_size)
    shard_loaders(bundle, ctx.rank, ctx.world_size, train.batch_size, ctx.share)
    return wrap_models(ctx, models, ctx.share)


def _scale_to_share(share: BatchShare, world_size: int, module: nn.Module, args: Any, output: Any) -> None:
    """FSDP averages gradients over ranks (sum / world size); scaling the gradient that reaches this
    rank's model outputs by its share of the batch times the world size makes that average the
    batch mean (uneven last batches included)."""
    scale = share.value * world_size
    if scale == 1.0:
        return
    for t in output if isinstance(output, (tuple, list)) else (output,):
        if isinstance(t, torch.Tensor) and t.requires_grad:
            t.register_hook(lambda g: g * scale)


def wrap_models(ctx: DistContext, models: dict[str, nn.Module], share: BatchShare) -> dict[str, nn.Module]:
    """The modules the programs call: DDP wrappers, or (FSDP) the models sharded in place.
    ``models`` itself is updated when BatchNorm layers are converted."""
    if ctx.device.type == "cuda" and ctx.spec.sync_batchnorm:
        for name in list(models):
            models[name] = nn.SyncBatchNorm.convert_sync_batchnorm(models[name])
    if ctx.strategy == "fsdp":
        for model in models.values():
            _shard(model, ctx)
            model.register_forward_hook(partial(_scale_to_share, share, ctx.world_size))
        return dict(models)
    strategy = ctx.spec.strategy
    out = {}
    for name, model in models.items():
        if not any(p.requires_grad for p in model.parameters()):
            out[name] = model  # nothing to synchronize (frozen until an unfreeze epoch is not supported here)
            continue
        ddp = _Replicated(model, device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None,
                          bucket_cap_mb=strategy.bucket_cap_mb, find_unused_parameters=strategy.find_unused_parameters,
                          **_sync_buffers(strategy.forward_sync_buffers))
        ddp.register_comm_hook(share, _weighted_mean)
        out[name] = ddp
    return out


def _sync_buffers(value: bool) -> dict:
    """DDP's ``forward_sync_buffers`` (``broadcast_buffers`` before torch 2.13)."""
    import inspect

    known = inspect.signature(DistributedDataParallel.__init__).parameters
    return {"forward_sync_buffers" if "forward_sync_buffers" in known else "broadcast_buffers": value}


def _shard(model: nn.Module, ctx: DistContext) -> None:
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import CPUOffloadPolicy, OffloadPolicy, fully_shard

    spec = ctx.spec.strategy
    mesh = init_device_mesh(ctx.device.type, (ctx.world_size,))
    kwargs = dict(mesh=mesh, reshard_after_forward=spec.reshard_after_forward,
                  offload_policy=CPUOffloadPolicy() if spec.cpu_offload else OffloadPolicy())
    if spec.units == "nodes":
        owners = Counter(id(p) for _, child in model.named_children() for p in set(child.parameters()))
        for _, child in model.named_children():
            params = list(child.parameters())
            if params and all(owners[id(p)] == 1 for p in params):  # tied weights stay with the root unit
                fully_shard(child, **kwargs)
    fully_shard(model, **kwargs)


def _full_options():
    from torch.distributed.checkpoint.state_dict import StateDictOptions

    return StateDictOptions(full_state_dict=True)


def load_model_state(ctx: DistContext, model: nn.Module, state: dict) -> None:
    """Load a state dict: a full one (a single-process checkpoint) is cut into this rank's shards."""
    if ctx.strategy != "fsdp" or any(isinstance(v, _dtensor()) for v in state.values()):
        model.load_state_dict(state)
        return
    from torch.distributed.checkpoint.state_dict import set_model_state_dict

    set_model_state_dict(model, state, options=_full_options())


def load_optimizer_state(ctx: DistContext, model: nn.Module, optimizer: torch.optim.Optimizer, state: dict) -> None:
    """Load an optimizer state dict saved by torch (parameters numbered in the optimizer's order)."""
    if ctx.strategy != "fsdp":
        optimizer.load_state_dict(state)
        return
    from torch.distributed.checkpoint.state_dict import set_optimizer_state_dict

    names = {id(p): n for n, p in model.named_parameters()}
    order = [names[id(p)] for g in optimizer.param_groups for p in g["params"]]
    by_name = {"state": {order[i]: s for i, s in state["state"].items()},
               "param_groups": [{**g, "params": [order[i] for i in g["params"]]} for g in state["param_groups"]]}
    set_optimizer_state_dict(model, optimizer, by_name, options=_full_options())


def _dtensor() -> type:
    from torch.distributed.tensor import DTensor

    return DTensor
