"""The seq2seq program: an encoder-decoder trained with teacher forcing, decoded at evaluation.

The model reads the source inputs and, as ``decoder_input``, the target prefix
``<sos> y1 … y_{T-1}``, and returns (T, V) logits: one forward pass scores every target step
(cross-entropy against ``tgt_out`` = ``y1 … y_T <eos>``, padding ignored).

Teacher forcing ratio r < 1 (scheduled sampling): each prefix token after ``<sos>`` is kept from
the target with probability r, otherwise it is the model's own greedy prediction for that step.
The predictions are made step by step without gradients (the logits of step t depend only on the
prefix up to t), then one forward pass with gradients scores the mixed prefix; argmax passes no
gradient, so this equals feeding predictions back inside the step loop.

Evaluation logs the teacher-forced token metrics (accuracy, perplexity; padding ignored) and the
exact-match rate of sequences decoded from ``<sos>`` alone (greedy or beam search, up to the
target width): a sample counts when every token up to and including ``<eos>`` is right.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from typing import Any, cast

import torch

from ...generate.decode import decode
from ..metrics import MetricSet
from .base import Batch, ProgramContext
from .supervised import Supervised


class Seq2SeqMetrics:
    """Token metrics from the logits plus the exact-match rate of decoded sequences, in the plan's order."""

    def __init__(self, plan: Any, device: torch.device, pad: int) -> None:
        from torchmetrics.classification import MulticlassExactMatch

        self.order = [m.key for m in plan.metrics]
        self.tokens = MetricSet([m for m in plan.metrics if m.type != "exact_match"], plan, device, ignore=pad)
        self.exact = {m.key: MulticlassExactMatch(num_classes=plan.num_classes, ignore_index=pad, validate_args=False).to(device)
                      for m in plan.metrics if m.type == "exact_match"}

    def __bool__(self) -> bool:
        return bool(self.order)

    def update(self, output: torch.Tensor, target: torch.Tensor) -> None:
        self.tokens.update(output, target)

    def update_decoded(self, preds: torch.Tensor, target: torch.Tensor) -> None:
        for metric in self.exact.values():
            metric.update(preds, target)

    def compute(self) -> dict[str, Any]:
        values = self.tokens.compute()
        for key, metric in self.exact.items():
            values[key] = float(metric.compute())
            metric.reset()
        return {k: values[k] for k in self.order}


class Seq2Seq(Supervised):
    name = "seq2seq"

    def __init__(self, ctx: ProgramContext) -> None:
        plan, device = ctx.plan, ctx.device
        super().__init__(replace(ctx, plan=replace(plan, metrics=[]), train=ctx.train.model_copy(update={"train_metrics": False})))
        self.config = plan.program
        self.special = self.config.special_tokens
        self.prefix_index = list(ctx.models["model"].input_names).index(self.config.decoder_input)
        self.logits_index = self.output_names.index(self.metric_output)
        self.metrics = {"eval": Seq2SeqMetrics(plan, device, self.special.pad)}
        if ctx.train.train_metrics:
            self.metrics["train"] = Seq2SeqMetrics(plan, device, self.special.pad)

    def _logits(self, args: list[torch.Tensor]) -> torch.Tensor:
        out = self.model(*args)
        return cast(torch.Tensor, out[self.logits_index] if isinstance(out, tuple) else out)

    @torch.no_grad()
    def mixed_prefix(self, batch: Batch) -> torch.Tensor:
        """The decoder input with each non-<sos>, non-padding token replaced, with probability
        1 − ratio, by the model's greedy prediction given the (mixed) prefix before it."""
        gold = batch[self.fields[self.prefix_index]]
        keep = torch.rand(gold.shape, device=gold.device) < self.config.teacher_forcing_ratio
        keep[:, 0] = True
        keep |= gold == self.special.pad
        if bool(keep.all()):
            return gold
        prefix, args = gold.clone(), [batch[f] for f in self.fields]
        for t in range(1, gold.shape[1]):
            if bool(keep[:, t].all()):
                continue
            args[self.prefix_index] = prefix[:, :t]
            pred = self._logits(args)[:, -1].argmax(-1)
            prefix[:, t] = torch.where(keep[:, t], gold[:, t], pred)
        return prefix

    @torch.no_grad()
    def decode(self, batch: Batch) -> torch.Tensor:
        """Decode every sample from <sos> alone; (B, W) tokens padded (or cut) to the target width W."""
        target = batch[self.metric_target]
        width, opts = target.shape[1], self.config.decode
        args = [batch[f] for f in self.fields]
        if opts.strategy == "beam" and opts.beam_size > 1:
            args = [a.repeat_interleave(opts.beam_size, 0) for a in args]

        def step(prefix: torch.Tensor) -> torch.Tensor:
            a = list(args)
            a[self.prefix_index] = prefix
            return self._logits(a)[:, -1]

        start = torch.full((target.shape[0], 1), self.special.sos, dtype=torch.long, device=target.device)
        preds = decode(step, start, opts, opts.max_tokens or width, self.special.eos, self.special.pad)
        out = torch.full_like(target, self.special.pad)
        n = min(width, preds.shape[1])
        out[:, :n] = preds[:, :n]
        return out

    def train_step(self, batch: Batch, updater: Any) -> torch.Tensor:
        if self.config.teacher_forcing_ratio < 1:
            with updater.autocast():
                batch = {**batch, self.fields[self.prefix_index]: self.mixed_prefix(batch)}
        loss = super().train_step(batch, updater)
        if "train" in self.metrics:
            self.metrics["train"].update_decoded(self.decode(batch), batch[self.metric_target])
        return loss

    @torch.no_grad()
    def eval_step(self, batch: Batch, autocast: Any = None) -> torch.Tensor:
        loss = super().eval_step(batch, autocast)
        if self.metrics["eval"].exact:
            with autocast() if autocast is not None else contextlib.nullcontext():
                preds = self.decode(batch)
            self.metrics["eval"].update_decoded(preds, batch[self.metric_target])
        return loss
