"""Training plan of the ``perceptron`` program, checked without torch by ``netspec validate`` and
by the trainer (``plan_training`` dispatches here).

The model must be one affine unit: an optional ``flatten``, then one ``linear`` that reads a flat
feature vector and is the model's only output, either

* (1,) ending in a step (its ``activation: step``, or a ``step``/``heaviside`` layer right after
  it): the binary perceptron, 0/1 labels; or
* (C,) scores, C ≥ 2, without an activation: the multiclass perceptron (argmax).

Anything else is a located error with a hint, and so is every training setting the rule does not
use (a loss, an optimizer, a schedule, gradient clipping, regularization, accumulation, freezing,
mixed precision, several processes, class weights): silently ignoring one would train something
other than what the spec says. The plan's ``roles`` name the unit (``unit``), the module that
turns its score into a 0/1 decision (``decision``, binary only) and the output; ``decisions`` is
True when the model's output is a 0/1 decision rather than scores (a consumer must not apply a
sigmoid to it).
"""

from typing import Any, ClassVar, Literal, Optional

from pydantic import Field

from ..errors import SpecError, SpecPath
from ..strict import PositiveFloat
from .base import PROGRAMS, Planner, ProgramSpec
from .plan import LossBinding, TrainPlan, monitor_mode

PROGRAM: SpecPath = ("train", "program")
UNIT_HINT = ("a perceptron is `- flatten` (optional), then `- linear: {out_features: 1, activation: step}` (0/1 labels) "
             "or `- linear: {out_features: C}` (C classes); other models train with the supervised program")
#: metrics logged by default (a binary unit outputs decisions: no scores to rank for auroc)
DEFAULTS = {"binary": ["accuracy", "f1"], "multiclass": ["accuracy", "f1_macro"]}
#: train settings the rule does not use
UNUSED = ("loss", "optimizer", "optimizers", "schedule", "grad_clip")
#: the layers (and activations) that turn the unit's score into a 0/1 decision
STEPS = ("step", "heaviside")


@PROGRAMS.register
class PerceptronProgram(ProgramSpec):
    """Rosenblatt's perceptron rule, online: a mistake moves the unit's weights by ± lr · x (no gradient)."""
    type: Literal["perceptron"]
    lr: PositiveFloat = Field(1.0, description="Step size of the rule: a mistake adds ± lr · x to the weights and ± lr "
                                               "to the bias.")

    EXAMPLE: ClassVar[str] = "{type: perceptron, lr: 0.5}"
    runtime: ClassVar[str] = "netspec.train.programs.perceptron:Perceptron"
    prediction: ClassVar[Literal["task", "embedding", "decision"]] = "decision"

    def plan(self, planner: Planner) -> Optional[TrainPlan]:
        spec, graphs, errors = planner.spec, planner.graphs, planner.errors
        train, before = spec.train, len(errors)
        if len(graphs) != 1:
            errors.append(SpecError(f"the perceptron program trains one unit; this spec has {len(graphs)} models",
                                    path=("models",), at_key=True, hint=UNIT_HINT))
            return None
        graph = next(iter(graphs.values()))
        unit = _unit(graph, errors)
        _settings(spec, train, errors)
        if unit is None or len(errors) > before:
            return None
        linear, decision, out_name = unit
        mode = "binary" if linear.layer.out_features == 1 else "multiclass"
        _task(train, mode, errors)
        metrics = _metrics(planner, train, mode, errors)
        logged = ["train.loss", "val.loss", "lr", "train.errors"] + [f"val.{m.key}" for m in metrics]
        if train.train_metrics:
            logged += [f"train.{m.key}" for m in metrics]
        es = train.early_stopping
        monitor = es.monitor if es else "val.loss"
        if es and monitor not in logged:
            errors.append(SpecError(f"early stopping monitors {monitor!r}, which is not logged",
                                    path=("train", "early_stopping", "monitor"),
                                    hint=f"logged: {', '.join(k for k in logged if k != 'lr')}"))
        planner.bindings(graph)
        num_classes = 2 if mode == "binary" else linear.layer.out_features
        plan = TrainPlan(mode, num_classes, [LossBinding(self, (out_name,), "target", PROGRAM)], metrics, logged,
                         monitor, monitor_mode(monitor, es.mode if es else "auto"))
        plan.program = self
        plan.roles = {"unit": linear.name, "decision": decision, "output": out_name, "decisions": mode == "binary"}
        if spec.data is not None:
            plan.input_fields = {name: spec.data.inputs.get(name) for name in graph.inputs}
        return plan


def _unit(graph: Any, errors: list[SpecError]) -> Optional[tuple[Any, Optional[str], str]]:
    """(the linear node, the module path of its step or None, the output name), or None after errors."""
    before = len(errors)
    nodes = list(graph.nodes)
    chain = nodes[:1] if nodes and nodes[0].layer.tag == "flatten" else []
    linear = nodes[len(chain)] if len(nodes) > len(chain) and nodes[len(chain)].layer.tag == "linear" else None
    if linear is None:
        errors.append(SpecError("the perceptron program trains one `linear` unit; the model does not start with one "
                                "(after an optional flatten)", path=graph.path, hint=UNIT_HINT))
        return None
    chain.append(linear)
    rest = nodes[len(chain):]
    if rest and rest[0].layer.tag in STEPS and linear.layer.activation is None:
        chain.append(rest.pop(0))
    for node in rest:
        errors.append(SpecError(f"the perceptron program trains one affine unit (an optional flatten, then one linear); "
                                f"{node.context} comes after it", path=node.path, context=node.context, hint=UNIT_HINT))
    if rest:
        return None
    source: tuple[Any, ...] = ("input", next(iter(graph.inputs))) if len(graph.inputs) == 1 else ()
    for node in chain:
        if not source or len(node.inputs) != 1 or tuple(node.inputs[0][:2]) != source:
            errors.append(SpecError(f"{node.context} must read the {'input' if node is chain[0] else 'layer before it'}: "
                                    "the unit's layers follow one another from the model's one input",
                                    path=node.path, context=node.context, hint=UNIT_HINT))
        source = ("node", node.name)
    outs = graph.outputs
    if len(outs) != 1 or outs[0][1][:2] != ("node", chain[-1].name):
        errors.append(SpecError(f"the perceptron returns its unit's output alone ({chain[-1].name!r})", path=graph.path,
                                hint="outputs: [" + chain[-1].name + "]"))
    _linear(linear, chain[-1] if len(chain) > 1 and chain[-1] is not linear else None, errors)
    if len(errors) > before:
        return None
    step = chain[-1] if chain[-1] is not linear else None
    decision = step.name if step is not None else f"{linear.name}.activation" if linear.layer.activation is not None else None
    return linear, decision if linear.layer.out_features == 1 else None, outs[0][0]


def _linear(node: Any, step: Any, errors: list[SpecError]) -> None:
    layer, where = node.layer, {"path": node.path, "context": node.context}
    shape = node.in_types[0].shape if node.in_types else ()
    if len(shape) != 1:
        errors.append(SpecError(f"the unit reads one flat feature vector per sample, not {len(shape)}-d input", **where,
                                hint="add `- flatten` before it"))
    for option, used in (("dropconnect", layer.dropconnect > 0), ("weight_norm", layer.weight_norm),
                         ("spectral_norm", layer.spectral_norm)):
        if used:
            errors.append(SpecError(f"the perceptron rule updates the unit's weight and bias directly; {option} does not "
                                    "apply", **where, hint=f"drop {option}"))
    act = layer.activation
    if layer.out_features == 1:
        if step is None and getattr(act, "tag", None) not in STEPS:
            what = f"ends in {act.tag}" if act is not None else "has no activation"
            errors.append(SpecError(f"a single perceptron unit outputs its 0/1 decision, step(w·x + b); this one {what}",
                                    **where, hint="give it `activation: step` (or use out_features: C ≥ 2 for C classes)"))
    elif getattr(act, "tag", None) in STEPS or step is not None:
        errors.append(SpecError(f"{layer.out_features} step units would be {layer.out_features} separate binary perceptrons; "
                                "the multiclass perceptron predicts the argmax of C scores", **where,
                                hint="drop the step: `linear: {out_features: C}`"))
    elif act is not None and act.tag != "identity":
        errors.append(SpecError(f"the multiclass perceptron's scores are affine (w·x + b); activation {act.tag} does not apply",
                                **where, hint="drop the activation"))


def _settings(spec: Any, train: Any, errors: list[SpecError]) -> None:
    """Training settings the rule does not use are errors, never silently ignored."""
    for key in UNUSED:
        if getattr(train, key) is not None:
            errors.append(SpecError(f"the perceptron rule sets the weights itself (no gradient); train.{key} does not apply",
                                    path=("train", key), at_key=True, hint="drop it; the rule's step size is train.program.lr"))
    for key in ("l1", "l2", "max_norm"):
        if getattr(train.regularization, key) is not None:
            errors.append(SpecError(f"the perceptron rule has no {key} term", path=("train", "regularization", key), at_key=True,
                                    hint="drop it"))
    if train.accumulate != 1:
        errors.append(SpecError("the perceptron rule updates after every sample; accumulate does not apply",
                                path=("train", "accumulate"), hint="drop it"))
    for key in ("freeze", "unfreeze"):
        if getattr(train, key):
            errors.append(SpecError(f"the perceptron rule trains its one unit; {key} does not apply", path=("train", key),
                                    at_key=True, hint="drop it"))
    if train.precision in ("bf16-mixed", "fp16-mixed"):
        errors.append(SpecError(f"the perceptron rule runs in fp32 (a rounded score could flip a decision); {train.precision} "
                                "does not apply", path=("train", "precision"), hint="precision: fp32 (or auto)"))
    if train.distributed is not None:
        errors.append(SpecError("the perceptron rule is sequential (each update depends on the one before): it runs in one "
                                "process", path=("train", "distributed"), at_key=True, hint="drop train.distributed"))
    if spec.data is not None and spec.data.class_weights is not None:
        errors.append(SpecError("the perceptron rule weighs every mistake alike; class_weights does not apply",
                                path=("data", "class_weights"), at_key=True, hint="drop it (or oversample: sampler: weighted)"))


def _task(train: Any, mode: str, errors: list[SpecError]) -> None:
    if "task" not in train.model_fields_set:
        return
    task = train.task
    if task.type != "classification":
        errors.append(SpecError(f"the perceptron program classifies; task {task.type!r} does not apply", path=("train", "task"),
                                hint="drop train.task"))
    elif task.mode not in ("auto", mode):
        errors.append(SpecError(f"task mode {task.mode} does not fit the unit: it is a {mode} perceptron",
                                path=("train", "task", "mode"),
                                hint="one unit with a step is binary (0/1 labels); C ≥ 2 scores are multiclass"))


def _metrics(planner: Planner, train: Any, mode: str, errors: list[SpecError]) -> list[Any]:
    if train.metrics is None:
        return [planner.metric(m) for m in DEFAULTS[mode]]
    fits = planner.fitting_metrics("binary" if mode == "binary" else "multiclass") - ({"auroc"} if mode == "binary" else set())
    seen: set[str] = set()
    for i, m in enumerate(train.metrics):
        if m.type not in fits:
            why = " (a step unit outputs 0/1 decisions, no scores to rank)" if m.type == "auroc" else ""
            errors.append(SpecError(f"metric {m.type!r} does not fit the {mode} perceptron{why}", path=("train", "metrics", i),
                                    hint=f"use one of: {', '.join(sorted(fits))}"))
        if m.key in seen:
            errors.append(SpecError(f"metric {m.key!r} is listed twice", path=("train", "metrics", i), hint="give one of them a `name`"))
        seen.add(m.key)
    return list(train.metrics)
