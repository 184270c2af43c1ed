"""The supervised program: one model, losses against targets, one optimizer step per batch."""

from __future__ import annotations

import contextlib
from typing import Any, Callable

import torch

from ...losses import LOSSES
from ..losses import build_loss
from ..metrics import MetricSet
from .base import Batch, LossTerm, ProgramContext, TrainProgram


class Supervised(TrainProgram):
    """One model: forward the bound input fields, sum the weighted losses, one optimizer step."""

    name = "supervised"

    def __init__(self, ctx: ProgramContext) -> None:
        plan, inputs, device = ctx.plan, ctx.inputs, ctx.device
        graph_module = ctx.models["model"]
        self.model = ctx.forward["model"]  # wrapped (DDP/FSDP) and compiled as the run asks
        self.models = {"model": graph_module}
        self.fields = [inputs[name] for name in graph_module.input_names]
        self.output_names = list(graph_module.output_names)
        recon_field = inputs[graph_module.input_names[0]]
        threshold, train_metrics = getattr(ctx.train.task, "threshold", 0.5), ctx.train.train_metrics
        self.terms: list[LossTerm] = []
        for b in plan.losses:
            fn = build_loss(b.spec, plan.mode, ctx.class_weights, plan.ignore_index)
            if hasattr(fn, "to"):
                fn = fn.to(device)
            self.terms.append((b.spec.weight, b.outputs, b.target or recon_field, fn))
        first = plan.losses[0]
        self.metric_output, self.metric_target = first.outputs[0], first.target or recon_field
        probabilities = LOSSES.of(first.spec).reads_probabilities
        ignore = getattr(first.spec, "ignore_index", None) if plan.mode == "language_model" else None
        make: Callable[[], MetricSet] = lambda: MetricSet(plan.metrics, plan, device, threshold, probabilities, ignore)  # noqa: E731
        self.metrics = {"eval": make(), **({"train": make()} if train_metrics else {})}

    def outputs(self, batch: Batch) -> dict[str, torch.Tensor]:
        out = self.model(*[batch[f] for f in self.fields])
        if len(self.output_names) == 1:
            return {self.output_names[0]: out}
        return dict(zip(self.output_names, out))

    def loss(self, outs: dict[str, torch.Tensor], batch: Batch) -> torch.Tensor:
        total = None
        for weight, names, target, fn in self.terms:
            value = fn(tuple(outs[n] for n in names), batch[target])
            value = value * weight if weight != 1.0 else value
            total = value if total is None else total + value
        return total  # type: ignore[return-value]

    def forward_loss(self, batch: Batch) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """Outputs and loss in one call: with ``train.compile`` the session compiles this, so the
        loss (e.g. a language model's cross-entropy over the vocabulary) fuses into the forward pass."""
        outs = self.outputs(batch)
        return outs, self.loss(outs, batch)

    def train_step(self, batch: Batch, updater: Any) -> torch.Tensor:
        with updater.autocast():
            outs, loss = self.forward_loss(batch)
        updater.update("model", loss)
        if "train" in self.metrics:
            self.metrics["train"].update(outs[self.metric_output], batch[self.metric_target])
        return loss.detach()

    @torch.no_grad()
    def eval_step(self, batch: Batch, autocast: Any = None) -> torch.Tensor:
        with autocast() if autocast is not None else contextlib.nullcontext():
            outs, loss = self.forward_loss(batch)
        self.metrics["eval"].update(outs[self.metric_output], batch[self.metric_target])
        return loss

    def compile(self, compile_fn: Callable[[Any], Any]) -> None:
        """The loss compiles into the forward pass (fused)."""
        self.forward_loss = compile_fn(self.forward_loss)  # type: ignore[method-assign]

    def loss_terms(self) -> list[LossTerm]:
        return self.terms
