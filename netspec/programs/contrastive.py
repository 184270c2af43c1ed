"""The ``contrastive`` program: one tower shared by two (pairs) or three (triplets) model inputs;
pairs or triplets are drawn from a labelled dataset; the loss is ``train.loss`` (contrastive,
triplet or cosine_embedding; default: contrastive for two inputs, triplet for three).

Rules: one model with two or three inputs of one shape and dtype; one loss that compares as many
embeddings as there are inputs, read from outputs of one shape.
"""

from typing import ClassVar, Literal, Optional

from pydantic import Field

from ..errors import SpecError, SpecPath
from ..losses import LOSSES
from ..strict import NonNegInt
from .base import PROGRAMS, Planner, ProgramSpec
from .plan import LossBinding, TrainPlan
from .rules import fmt_shape, input_path


@PROGRAMS.register
class ContrastiveProgram(ProgramSpec):
    """One tower shared by two or three inputs; pairs (same class or not) or triplets from labelled data."""
    type: Literal["contrastive"]
    labels: str = Field("target", description="The data field with the class labels that define similarity.")
    positive_fraction: float = Field(0.5, gt=0, lt=1, description="Pairs: share of pairs drawn from the same class.")
    knn_reference: NonNegInt = Field(
        2000, description="val.knn_accuracy: 1-nearest-neighbour accuracy of validation embeddings against up to this "
                          "many training embeddings (0: not computed).")

    EXAMPLE: ClassVar[str] = "{type: contrastive, positive_fraction: 0.4, knn_reference: 100}"
    runtime: ClassVar[str] = "netspec.train.programs.contrastive:Contrastive"
    prediction: ClassVar[Literal["task", "embedding", "decision"]] = "embedding"

    def plan(self, planner: Planner) -> Optional[TrainPlan]:
        spec, graphs, errors = planner.spec, planner.graphs, planner.errors
        train, before = spec.train, len(errors)
        if len(graphs) != 1:
            errors.append(SpecError(f"the contrastive program trains one (shared) tower model; this spec has {len(graphs)}",
                                    path=("models",), at_key=True, hint="use `model:` with `share:` for the second input"))
            return None
        graph = next(iter(graphs.values()))
        names = list(graph.inputs)
        if len(names) not in (2, 3):
            errors.append(SpecError(f"the contrastive program feeds two (pairs) or three (triplets) inputs; the model has "
                                    f"{len(names)}", path=graph.path,
                                    hint="declare inputs for the two (or anchor/positive/negative) samples"))
            return None
        types = [graph.inputs[n] for n in names]
        for n, t in zip(names[1:], types[1:]):
            if tuple(t.shape) != tuple(types[0].shape) or t.dtype != types[0].dtype:
                errors.append(SpecError(f"input {n!r} must have the shape and dtype of {names[0]!r}",
                                        path=input_path(spec, graph.name, n),
                                        hint=f"{names[0]!r} is {fmt_shape(types[0].shape)} {types[0].dtype}"))
        losses = list(train.loss or [planner.loss({"type": "contrastive" if len(names) == 2 else "triplet"})])
        if len(losses) != 1:
            errors.append(SpecError("the contrastive program takes one loss", path=("train", "loss"), hint="keep one"))
            return None
        loss = losses[0]
        need = LOSSES.of(loss).arity  # the loss's own rule: 2 (pairs), 3 (triplets), 1 (not a comparison)
        where: SpecPath = ("train", "loss", 0) if train.loss else ("train",)
        if need < 2:
            errors.append(SpecError(f"loss {loss.type!r} does not compare embeddings", path=where + ("type",),
                                    hint="use contrastive or cosine_embedding (pairs), or triplet"))
            return None
        if need != len(names):
            errors.append(SpecError(f"loss {loss.type!r} compares {need} embeddings, but the model has {len(names)} inputs",
                                    path=where + ("type",), hint="triplet takes three inputs; contrastive/cosine_embedding two"))
        outs = graph.output_types()
        wanted = (loss.output if isinstance(loss.output, list) else [loss.output]) if loss.output else list(outs)[:need]
        for o in wanted:
            if o not in outs:
                errors.append(SpecError(f"loss reads output {o!r}, which the model does not return", path=where + ("output",),
                                        hint=f"outputs: {', '.join(outs)}"))
        if len(wanted) != need:
            errors.append(SpecError(f"loss {loss.type!r} reads {need} embeddings (one per input), got {len(wanted)}",
                                    path=where + ("output",), hint="return one embedding per input, in the inputs' order"))
        if len(errors) > before:
            return None
        if len({tuple(outs[o].shape) for o in wanted}) != 1:
            errors.append(SpecError("the embeddings must have one shape", path=where + ("output",),
                                    hint="produce them with the same (shared) tower"))
        extra = ["knn_accuracy"] if self.knn_reference else []
        plan = planner.common(graph, "multiclass", extra, data_inputs=names[:1])
        plan.losses = [LossBinding(loss, tuple(wanted), self.labels, where)]
        plan.roles = {"inputs": names, "sampling": "triplets" if need == 3 else "pairs"}
        return plan
