"""The perceptron program: Rosenblatt's learning rule (1958) for one affine unit, online.

Every sample of a batch is taken in turn, in the order the loop drew them (the rule is the online
one that Novikoff's convergence theorem is about: on data separable with margin γ inside a ball
of radius R, it makes at most (R/γ)² mistakes from zero weights). With x the unit's input
(flattened) and lr ``train.program.lr``:

* binary (one unit ending in a step, labels y ∈ {0, 1}): ŷ = step(w·x + b) with the model's own
  step module; w ← w + lr·(y − ŷ)·x, b ← b + lr·(y − ŷ);
* multiclass (C scores, y a class index): ŷ = argmax(W·x + b); W_y ← W_y + lr·x and
  W_ŷ ← W_ŷ − lr·x, b_y ← b_y + lr, b_ŷ ← b_ŷ − lr (nothing moves when ŷ = y).

The weights are the compiled ``linear``'s own parameters, changed in place in fp32 without
autograd; the updater is never called, so no optimizer steps (the session gives the model a plain
SGD holding ``lr`` so that the logged ``lr`` is the rule's). The loss the loop logs is the 0/1
error rate: ``train.loss`` is the share of training samples the unit misclassified when it met
them (each one an update), ``val.loss`` the share of validation samples it misclassifies;
``train.errors`` counts the epoch's mistakes (0 once the rule has converged). Metrics read the
model's output: 0/1 decisions for the binary unit (fed to the metrics as probabilities, never
through a sigmoid), scores for the multiclass one (argmax).
"""

from __future__ import annotations

from typing import Any, Callable, Optional, cast

import torch
import torch.distributed as dist

from ...errors import TrainError
from ...spec.train import Sgd
from ..metrics import MetricSet
from .base import Batch, ProgramContext, TrainProgram


class Perceptron(TrainProgram):
    """One affine unit trained by the perceptron rule, sample by sample, without gradients."""

    name = "perceptron"


    @classmethod
    def rule_optimizer(cls, train: Any) -> Any:
        """The optimizer the session gives the model: never stepped; it holds the rule's lr (logged as ``lr``)."""
        return Sgd(type="sgd", lr=train.program.lr)

    def __init__(self, ctx: ProgramContext) -> None:
        if dist.is_available() and dist.is_initialized():
            raise TrainError("the perceptron rule is sequential (each update depends on the one before): it runs in one "
                             "process", path=("train", "program"), hint="train without --nproc-per-node / torchrun")
        model, plan, inputs, device, train_metrics = (ctx.models["model"], ctx.plan, ctx.inputs, ctx.device,
                                                      ctx.train.train_metrics)
        self.model = model
        self.models = {"model": model}
        self.field = inputs[model.input_names[0]]
        self.metric_output, self.metric_target = plan.roles["output"], plan.losses[0].target
        self.output_names = list(model.output_names)
        unit: Any = model.get_submodule(plan.roles["unit"])  # the compiled linear (weight, bias, out_features)
        self.unit = unit
        self.decide = model.get_submodule(plan.roles["decision"]) if plan.roles["decision"] else None
        self.lr = float(plan.program.lr)
        classes = int(unit.out_features)
        self.eye: Any = torch.eye(classes, device=device) if self.decide is None else None
        make: Callable[[], MetricSet] = lambda: MetricSet(plan.metrics, plan, device, 0.5, probabilities=self.decide is not None)  # noqa: E731
        self.metrics = {"eval": make(), "train": _Mistakes(make() if train_metrics else None, device)}

    def outputs(self, batch: Batch) -> dict[str, torch.Tensor]:
        return {self.output_names[0]: self.model(batch[self.field])}

    @torch.no_grad()
    def train_step(self, batch: Batch, updater: Any) -> torch.Tensor:
        x = batch[self.field].float()
        x = x.reshape(len(x), -1)  # the unit's input: what the optional flatten makes of it
        y = batch[self.metric_target]
        weight, bias = self.unit.weight, self.unit.bias
        mistakes = torch.zeros((), device=x.device)
        seen = []
        for i in range(len(x)):
            xi = x[i]
            scores = self.unit(xi.unsqueeze(0))[0]  # (C,): w·x + b with the weights so far
            if self.decide is not None:  # binary: ŷ = step(w·x + b), y − ŷ ∈ {−1, 0, 1}
                guess = self.decide(scores)
                delta = self.lr * (y[i].to(scores.dtype) - guess)
                wrong = (guess != y[i]).float().sum()
            else:  # multiclass: +x to the true class, −x to the predicted one (0 when they agree)
                guess = scores.argmax()
                delta = self.lr * (self.eye[y[i]] - self.eye[guess])
                wrong = (guess != y[i]).float()
            weight.add_(torch.outer(delta, xi))
            if bias is not None:
                bias.add_(delta)
            mistakes += wrong
            seen.append(guess.reshape(-1) if self.decide is not None else scores)
        self.metrics["train"].add(mistakes, torch.stack(seen), y)
        return mistakes / len(x)

    @torch.no_grad()
    def eval_step(self, batch: Batch, autocast: Any = None) -> torch.Tensor:
        """The 0/1 error rate of the batch; fp32 always (``autocast`` is not used: decisions must not depend on rounding)."""
        out = self.model(batch[self.field].float())
        y = batch[self.metric_target]
        guess = out.reshape(-1) if self.decide is not None else out.argmax(1)
        self.metrics["eval"].update(out, y)
        return cast(torch.Tensor, (guess.long() != y.reshape(-1).long()).float().mean())

    def state_dict(self) -> dict[str, Any]:
        return {"errors": float(self.metrics["train"].errors)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.metrics["train"].errors.fill_(float(state.get("errors", 0.0)))


class _Mistakes:
    """The epoch's mistake count (``train.errors``), plus the train metrics of the predictions the
    unit made before each update (``train_metrics: true``). Counted on the device; read once per epoch."""

    def __init__(self, inner: Optional[MetricSet], device: torch.device) -> None:
        self.inner = inner
        self.errors = torch.zeros((), device=device)

    def add(self, mistakes: torch.Tensor, outputs: torch.Tensor, target: torch.Tensor) -> None:
        self.errors += mistakes
        if self.inner is not None:
            self.inner.update(outputs, target)

    def compute(self) -> dict[str, Any]:
        out = {**(self.inner.compute() if self.inner is not None else {}), "errors": float(self.errors)}
        self.errors.zero_()
        return out
