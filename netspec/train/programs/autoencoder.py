"""The autoencoder program: reconstruct the input (plain), a corrupted input (denoising), or with
a sparsity penalty on a named node's activations (sparse).

The losses are the supervised ones with the reconstruction task (``train.loss``, default mse;
the target is the clean input field). Noise is drawn from the global torch RNG (saved in
checkpoints) and applied in training only, to the model's input and never to the target: the
validation loss measures the reconstruction of clean inputs. The sparsity penalty (see
``netspec.train.generative_losses``) reads the node through ``GraphModule.forward_capture`` and is
logged as ``train.sparsity`` / ``val.sparsity`` together with the node's mean activation
(``mean_activation``).
"""

from __future__ import annotations

import contextlib
from typing import Any, cast

import torch

from ..generative_losses import kl_sparsity, l1_activity
from .base import Batch, ProgramContext
from .supervised import Supervised
from .tally import Means


def corrupt(x: torch.Tensor, noise: Any) -> torch.Tensor:
    """Gaussian: x + std·N(0, 1); masking: each value becomes ``value`` with probability p."""
    if noise.type == "gaussian":
        return cast(torch.Tensor, x + noise.std * torch.randn_like(x))
    return torch.where(torch.rand_like(x) < noise.p, torch.full_like(x, noise.value), x)


def sparsity_penalty(a: torch.Tensor, sparsity: Any) -> torch.Tensor:
    a = a.float()
    if sparsity.type == "l1":
        return cast(torch.Tensor, sparsity.weight * l1_activity(a))
    return cast(torch.Tensor, sparsity.weight * kl_sparsity(a, sparsity.rho))


class Autoencoder(Supervised):
    """One model; target = its (clean) input; optional input noise and sparsity penalty."""

    name = "autoencoder"

    def __init__(self, ctx: ProgramContext) -> None:
        super().__init__(ctx)
        self.noise, self.sparsity = ctx.plan.program.noise, ctx.plan.program.sparsity
        self.graph_module = ctx.models["model"]  # forward_capture reads the sparsity node (outside any wrapper)
        self.metrics = {"eval": _Joined(self.metrics["eval"]), "train": _Joined(self.metrics.get("train"))}

    def forward(self, inputs: list[torch.Tensor]) -> tuple[dict[str, torch.Tensor], Any]:
        """Model outputs by name, and the sparsity node's activations (or None)."""
        if self.sparsity is None:
            out = self.model(*inputs)
            return self._named(out), None
        out, nodes = self.graph_module.forward_capture([self.sparsity.node], *inputs)
        return self._named(out), nodes[self.sparsity.node]

    def _named(self, out: Any) -> dict[str, torch.Tensor]:
        return {self.output_names[0]: out} if len(self.output_names) == 1 else dict(zip(self.output_names, out))

    def _step(self, batch: Batch, train: bool) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        inputs = [batch[f] for f in self.fields]
        if train and self.noise is not None:
            inputs[0] = corrupt(inputs[0], self.noise)
        outs, hidden = self.forward(inputs)
        loss = self.loss(outs, batch)  # targets: the clean fields
        if hidden is not None:
            penalty = sparsity_penalty(hidden, self.sparsity)
            n = hidden.shape[0]
            tally = self.metrics["train" if train else "eval"].extra
            tally.add("sparsity", penalty, n)
            tally.add("mean_activation", hidden.float().mean(), n)
            loss = loss + penalty
        return outs, loss

    def train_step(self, batch: Batch, updater: Any) -> torch.Tensor:
        with updater.autocast():
            outs, loss = self._step(batch, True)
        updater.update("model", loss)
        self.metrics["train"].update(outs[self.metric_output], batch[self.metric_target])
        return loss.detach()

    @torch.no_grad()
    def eval_step(self, batch: Batch, autocast: Any = None) -> torch.Tensor:
        with autocast() if autocast is not None else contextlib.nullcontext():
            outs, loss = self._step(batch, False)
        self.metrics["eval"].update(outs[self.metric_output], batch[self.metric_target])
        return loss


class _Joined:
    """The supervised metrics (if any) plus the sparsity figures, computed together."""

    def __init__(self, metrics: Any) -> None:
        self.inner, self.extra = metrics, Means()

    def update(self, *args: Any) -> None:
        if self.inner is not None:
            self.inner.update(*args)

    def compute(self) -> dict[str, float]:
        return {**(self.inner.compute() if self.inner is not None else {}), **self.extra.compute()}
