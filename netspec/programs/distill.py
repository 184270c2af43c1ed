"""The ``distill`` program: knowledge distillation (Hinton, Vinyals & Dean 2015).

A frozen *teacher* model and a *student* model, both in the spec's ``models:`` (as the gan's
generator and discriminator are); the teacher's weights come from ``teacher_checkpoint`` (a
netspec checkpoint, run directory or state-dict file) and never change. On each batch both read
the same inputs and the student minimizes, with T the temperature and y the class labels,

    alpha · KL(softmax(teacher / T) ‖ softmax(student / T)) · T² + (1 − alpha) · cross_entropy(student, y)

(T² keeps the soft term's gradients on the scale of the hard one's). Logged: ``kd`` (the KL term
times T²), ``ce`` and the student's ``accuracy``, on both splits. Rules: both models exist (and no
other), take the same inputs and return (C,) class logits of one C; the program computes its loss.
"""

from typing import ClassVar, Literal, Optional

from pydantic import Field

from ..errors import SpecError
from ..strict import PositiveFloat
from .base import PROGRAMS, Planner, ProgramSpec
from .plan import LossBinding, TrainPlan
from .rules import PROGRAM, fmt_shape, named_models, output_path, own_loss


@PROGRAMS.register
class DistillProgram(ProgramSpec):
    """Train a student on a frozen teacher's softened logits and the labels (knowledge distillation)."""
    type: Literal["distill"]
    teacher: str = Field("teacher", description="The model whose logits are the soft targets (frozen).")
    student: str = Field("student", description="The model trained (one optimizer).")
    teacher_checkpoint: Optional[str] = Field(
        None, description="The teacher's weights (needed): a netspec checkpoint, a run directory (its reported "
                          "weights) or a state-dict file, relative to the spec file (its first model is read).")
    temperature: PositiveFloat = Field(2.0, description="T: both models' logits are divided by it in the soft term.")
    alpha: float = Field(0.5, ge=0, le=1, description="Weight of the soft (teacher) term; 1 − alpha weighs the "
                                                      "cross-entropy against the labels.")
    labels: str = Field("target", description="The data field with the class labels.")

    EXAMPLE: ClassVar[str] = "{type: distill, teacher_checkpoint: runs/teacher/best.pt, temperature: 4.0, alpha: 0.7}"
    runtime: ClassVar[str] = "netspec.train.programs.distill:Distill"

    def plan(self, planner: Planner) -> Optional[TrainPlan]:
        spec, errors = planner.spec, planner.errors
        before = len(errors)
        teacher, student = named_models(spec, planner.graphs, self, ("teacher", "student"), errors)
        own_loss(spec, errors)
        if teacher is None or student is None:
            return None
        for name, t in student.inputs.items():
            other = teacher.inputs.get(name)
            if other is None or tuple(other.shape) != tuple(t.shape) or other.dtype != t.dtype:
                errors.append(SpecError(f"student input {name!r} ({fmt_shape(t.shape)} {t.dtype}) is not an input of the "
                                        f"teacher with that shape and dtype", path=student.path,
                                        hint="both models read the same inputs: give them the same `inputs:`"))
        if set(teacher.inputs) != set(student.inputs):
            errors.append(SpecError(f"teacher inputs ({', '.join(teacher.inputs)}) and student inputs "
                                    f"({', '.join(student.inputs)}) differ", path=teacher.path,
                                    hint="both models read the same inputs"))
        (s_out, s_type), (t_out, t_type) = next(iter(student.output_types().items())), next(iter(teacher.output_types().items()))
        for graph, name, out in ((student, s_out, s_type), (teacher, t_out, t_type)):
            if len(out.shape) != 1 or not isinstance(out.shape[0], int) or out.shape[0] < 2:
                errors.append(SpecError(f"output {name!r} of {graph.name!r} is {fmt_shape(out.shape)}, but distillation "
                                        "compares (C,) class logits, C ≥ 2", path=output_path(graph, name),
                                        hint="end the model in `linear: {out_features: C}` (no softmax)"))
        if len(errors) > before:
            return None
        if s_type.shape[0] != t_type.shape[0]:
            errors.append(SpecError(f"the student predicts {s_type.shape[0]} classes, the teacher {t_type.shape[0]}",
                                    path=output_path(student, s_out), hint="give both models one output per class"))
            return None
        if self.teacher_checkpoint is None:  # a rule, not a required key: a missing one is this program's error alone
            errors.append(SpecError("the distill program needs the teacher's trained weights", path=PROGRAM, at_key=True,
                                    hint="set teacher_checkpoint: a checkpoint, run directory or state-dict file"))
        plan = planner.common(student, "multiclass", ["kd", "ce", "accuracy"])
        plan.num_classes = s_type.shape[0]
        plan.losses = [LossBinding(planner.loss({"type": "cross_entropy"}), (s_out,), self.labels, PROGRAM)]
        plan.roles = {"student_output": s_out, "teacher_output": t_out}
        return plan
