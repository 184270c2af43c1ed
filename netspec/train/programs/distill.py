"""The distill program: a student trained on a frozen teacher's softened logits and the labels.

Per batch, with s and t the student's and teacher's (N, C) logits, y the labels, T the temperature:

    kd   = KL(softmax(t / T) ‖ softmax(s / T)) · T²   (batch mean of the per-sample KL)
    ce   = cross_entropy(s, y)
    loss = alpha · kd + (1 − alpha) · ce

The teacher runs in eval mode without gradients (its parameters are frozen) and is loaded from
``teacher_checkpoint`` when the run starts (not on resume: the checkpoint holds it); only the
student's optimizer steps. Logged: ``kd``, ``ce`` and the student's ``accuracy`` (train and val).
"""

from __future__ import annotations

import contextlib
from typing import Any, Optional

import torch
import torch.nn.functional as F

from ...errors import TrainError
from ...spec.train import Pretrained
from ..regularize import load_pretrained
from .base import Batch, ProgramContext, TrainProgram
from .tally import Means


def distillation_loss(student: torch.Tensor, teacher: torch.Tensor, target: torch.Tensor, temperature: float,
                      alpha: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(loss, kd, ce) of (N, C) student and teacher logits against class indices ``target``."""
    t = temperature
    kd = F.kl_div(F.log_softmax(student.float() / t, -1), F.log_softmax(teacher.float() / t, -1),
                  reduction="batchmean", log_target=True) * (t * t)
    ce = F.cross_entropy(student.float(), target)
    return alpha * kd + (1 - alpha) * ce, kd, ce


class Distill(TrainProgram):
    """A frozen teacher, a student; the student learns alpha · soft KL · T² + (1 − alpha) · CE."""

    name = "distill"

    @staticmethod
    def data_graph(graphs: dict[str, Any], plan: Any) -> Any:
        return graphs[plan.program.student]

    def __init__(self, ctx: ProgramContext) -> None:
        p, roles = ctx.plan.program, ctx.plan.roles
        self.program = p
        self.s_name, self.t_name = p.student, p.teacher
        teacher: Any = ctx.models[p.teacher]  # GraphModules (input_names, output_names)
        student: Any = ctx.models[p.student]
        if not ctx.resuming:
            self._load_teacher(teacher, p.teacher_checkpoint, ctx)
        teacher.requires_grad_(False)
        self.teacher_module = teacher
        self.models = {p.student: student}  # the only model the program steps
        self.student, self.teacher = ctx.forward[p.student], ctx.forward[p.teacher]
        self.fields = [ctx.inputs[n] for n in student.input_names]
        self.t_order = [list(student.input_names).index(n) for n in teacher.input_names]
        self.s_index = list(student.output_names).index(roles["student_output"])
        self.t_index = list(teacher.output_names).index(roles["teacher_output"])
        self.s_output = roles["student_output"]
        self.labels = p.labels
        self.metrics = {"train": Means(), "eval": Means()}

    @staticmethod
    def _load_teacher(teacher: torch.nn.Module, path: Optional[str], ctx: ProgramContext) -> None:
        if path is None or ctx.base is None:
            raise TrainError("the teacher's weights are not given, or the spec file they are relative to is not known",
                             path=("train", "program", "teacher_checkpoint"))
        try:
            load_pretrained(Pretrained(path=path), teacher, ctx.base)
        except TrainError as exc:
            exc.path = ("train", "program", "teacher_checkpoint")
            raise exc from None

    def _logits(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        xs = [batch[f] for f in self.fields]
        self.teacher_module.eval()  # the loop puts every model in train mode; the teacher's dropout stays off
        with torch.no_grad():
            t = self.teacher(*[xs[i] for i in self.t_order])
        s = self.student(*xs)
        s = s[self.s_index] if isinstance(s, tuple) else s
        t = t[self.t_index] if isinstance(t, tuple) else t
        return s, t

    def _tally(self, split: str, s: torch.Tensor, kd: torch.Tensor, ce: torch.Tensor, y: torch.Tensor) -> None:
        m, n = self.metrics[split], y.shape[0]
        m.add("kd", kd, n)
        m.add("ce", ce, n)
        m.add("accuracy", (s.argmax(-1) == y).float().mean(), n)

    def train_step(self, batch: Batch, updater: Any) -> torch.Tensor:
        y = batch[self.labels]
        with updater.autocast():
            s, t = self._logits(batch)
            loss, kd, ce = distillation_loss(s, t, y, self.program.temperature, self.program.alpha)
        updater.update(self.s_name, loss)
        self._tally("train", s.detach(), kd.detach(), ce.detach(), y)
        return loss.detach()

    @torch.no_grad()
    def eval_step(self, batch: Batch, autocast: Any = None) -> torch.Tensor:
        y = batch[self.labels]
        with autocast() if autocast is not None else contextlib.nullcontext():
            s, t = self._logits(batch)
            loss, kd, ce = distillation_loss(s, t, y, self.program.temperature, self.program.alpha)
        self._tally("eval", s, kd, ce, y)
        return loss

    @torch.no_grad()
    def outputs(self, batch: Batch) -> dict[str, torch.Tensor]:
        """The student's logits."""
        out = self.student(*[batch[f] for f in self.fields])
        return {self.s_output: out[self.s_index] if isinstance(out, tuple) else out}
