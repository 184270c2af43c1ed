"""The resolved training plan: task defaults applied and cross-section rules checked, without torch.

``plan_training(spec, graphs)`` is called by ``netspec validate`` (through ``check``) and by the
trainer, so both agree on what a spec means: which loss reads which output and which target
field, which metrics are logged (and so may be monitored), how many classes there are. Rules
(catalog §12.1 item 32–33): class_weights length = number of classes, a monitored metric that
is logged, a loss that fits the task, data bindings that name real inputs; warnings for a
learning rate outside [1e-6, 1], a softmax before a loss that applies it, BatchNorm with tiny
batches, parameters whose only path to the loss crosses a step (zero gradient; checks/gradients.py).
"""

from __future__ import annotations

from typing import Any, Optional

from pydantic import TypeAdapter

from ..errors import NetspecError, SpecError, SpecPath
from ..losses import LOSSES, fitting
from ..metrics import Metric, metric, metrics_for
from ..programs.plan import LossBinding, TrainPlan, monitor_mode
from ..spec.train import Loss, Supervised, Task, TrainSpec
from .gradients import zero_gradient_warnings

__all__ = ["LossBinding", "Planner", "TrainPlan", "monitor_mode", "plan_training"]  # the plan types live in netspec.programs
DEFAULT_METRICS = {
    "multiclass": ["accuracy", "f1_macro"], "binary": ["accuracy", "f1", "auroc"], "multilabel": ["accuracy", "f1_macro"],
    "regression": ["mse", "rmse", "mae", "r2"], "reconstruction": ["mse", "mae"],
    "language_model": ["perplexity", "accuracy"],
    "seq2seq": ["exact_match", "accuracy"], "segmentation": ["iou", "dice", "accuracy"],
}


def plan_training(spec: Any, graphs: dict, errors: list[NetspecError], warnings: list[NetspecError],
                  target_matrix: Optional[bool] = None) -> Optional[TrainPlan]:
    """Resolve the training plan of a spec's program (its own ``plan`` rules); append problems."""
    train: TrainSpec = spec.train or TrainSpec()
    if not graphs:
        return None
    return train.program.plan(Planner(spec, graphs, errors, warnings, target_matrix))


class Planner:
    """The planning services a program's ``plan`` uses (``netspec.programs.base.Planner``)."""

    def __init__(self, spec: Any, graphs: dict, errors: list, warnings: list, target_matrix: Optional[bool] = None) -> None:
        self.spec, self.graphs, self.errors, self.warnings = spec, graphs, errors, warnings
        self.target_matrix = target_matrix

    def supervised(self, task: Optional[str] = None) -> Optional[TrainPlan]:
        spec = self.spec
        if task is not None:  # the supervised plan of another task (the autoencoder's reconstruction)
            train = (spec.train or TrainSpec()).model_copy(update={"task": TypeAdapter(Task).validate_python(task),
                                                                   "program": Supervised(type="supervised")})
            spec = spec.model_copy(update={"train": train})
        return _supervised(spec, self.graphs, self.errors, self.warnings, self.target_matrix)

    def common(self, data_graph: Any, mode: str, extra: list[str], data_inputs: Optional[list[str]] = None) -> TrainPlan:
        return _common(self.spec, self.graphs, data_graph, mode, extra, self.errors, self.warnings, data_inputs)

    def bindings(self, graph: Any) -> None:
        _bindings(self.spec, graph, self.errors)

    def metric(self, name: str) -> Metric:
        return metric(name)

    def fitting_metrics(self, mode: str) -> set[str]:
        return set(metrics_for(mode))

    def loss(self, data: dict) -> Any:
        return TypeAdapter(Loss).validate_python(data)


def _supervised(spec: Any, graphs: dict, errors: list[NetspecError], warnings: list[NetspecError],
                target_matrix: Optional[bool]) -> Optional[TrainPlan]:
    """The supervised plan: one model, losses bound to its outputs and the data's targets."""
    train: TrainSpec = spec.train or TrainSpec()
    check_optimizer_names(train, graphs, errors)
    if len(graphs) > 1:
        errors.append(SpecError(f"the {train.program.type} program trains one model; this spec has {len(graphs)}",
                                path=("models",), at_key=True,
                                hint="multi-model programs (vae, gan, ...) are selected with train.program"))
        return None
    graph = next(iter(graphs.values()))
    out_types = graph.output_types()
    if target_matrix is None:
        target_matrix = has_target_matrix(spec)
    mode = _mode(train, out_types, target_matrix)
    per_position = _per_position(train, mode, graph, out_types, errors)
    num_classes = _num_classes(mode, out_types, per_position)
    losses = _losses(train, mode, graph, out_types, errors)
    metrics = _metrics(train, mode, errors)
    logged = ["train.loss", "val.loss", "lr"] + [f"val.{m.key}" for m in metrics]
    if train.train_metrics:
        logged += [f"train.{m.key}" for m in metrics]
    es = train.early_stopping
    monitor = es.monitor if es else "val.loss"
    _check_monitors(train, logged, errors)
    _class_weights(spec, train, num_classes, errors)
    _bindings(spec, graph, errors)
    _warnings(spec, train, graph, losses, warnings)
    plan = TrainPlan(mode, num_classes, losses, metrics, logged, monitor, monitor_mode(monitor, es.mode if es else "auto"))
    plan.program = train.program
    if per_position:
        plan.per_position, plan.ignore_index = True, _ignore_index(losses, errors)
    if spec.data is not None:
        plan.input_fields = {name: spec.data.inputs.get(name) for name in graph.inputs}
    return plan


def _common(spec: Any, graphs: dict, data_graph: Any, mode: str, extra: list[str], errors: list, warnings: list,
            data_inputs: Optional[list[str]] = None) -> TrainPlan:
    """A plan with no supervised losses: what is logged, monitor checks, data bindings, warnings."""
    train = spec.train
    check_optimizer_names(train, graphs, errors)
    logged = ["train.loss", "val.loss", "lr"] + [f"{s}.{k}" for k in extra for s in ("train", "val")]
    if len(graphs) > 1:
        logged += [f"lr.{name}" for name in graphs]
    es = train.early_stopping
    monitor = es.monitor if es else "val.loss"
    _check_monitors(train, logged, errors)
    if train.metrics is not None:
        errors.append(SpecError(f"the {train.program.type} program logs its own metrics", path=("train", "metrics"),
                                hint=f"it logs: {', '.join(logged)}"))
    _bindings(spec, data_graph, errors)
    _warnings(spec, train, data_graph, [], warnings)
    plan = TrainPlan(mode, None, [], [], logged, monitor, monitor_mode(monitor, es.mode if es else "auto"))
    plan.program = train.program
    if spec.data is not None:
        plan.input_fields = {n: spec.data.inputs.get(n) for n in (data_inputs or list(data_graph.inputs))}
    return plan


def _check_monitors(train: TrainSpec, logged: list[str], errors: list) -> None:
    """Early stopping and a schedule that steps on a metric (reduce_on_plateau) must monitor a logged key."""
    es = train.early_stopping
    if es and es.monitor not in logged:
        errors.append(SpecError(f"early stopping monitors {es.monitor!r}, which is not logged",
                                path=("train", "early_stopping", "monitor"),
                                hint=f"logged: {', '.join(k for k in logged if not k.startswith('lr'))}"))
    watched = train.schedule.monitored() if train.schedule is not None else None
    if watched is not None and watched not in logged:
        errors.append(SpecError(f"{train.schedule.type} monitors {watched!r}, which is not logged",
                                path=("train", "schedule", "monitor"), hint=f"logged: {', '.join(logged)}"))


def check_optimizer_names(train: TrainSpec, graphs: dict, errors: list) -> None:
    """``optimizers: {name: ...}`` keys must be model names (``model`` for a single ``model:``)."""
    for name in train.optimizers or {}:
        if name not in graphs:
            errors.append(SpecError(f"optimizers names {name!r}, which is not a model of this spec",
                                    path=("train", "optimizers", name), at_key=True, hint=f"models: {', '.join(graphs)}"))


def has_target_matrix(spec: Any) -> bool:
    """The data source names several target columns (CSV/Parquet ``target: [a, b, ...]``): a 0/1 matrix,
    so auto classification is multilabel (validate and the trainer decide alike)."""
    target = getattr(spec.data.source, "target", None) if spec.data is not None else None
    return isinstance(target, list) and len(target) > 1


def _mode(train: TrainSpec, out_types: dict, target_matrix: Optional[bool]) -> str:
    task = train.task
    if train.program.mode is not None:  # a program that trains its own task (language_model, seq2seq, ...)
        return train.program.mode
    if task.type != "classification":
        return task.type
    if task.mode != "auto":
        return task.mode
    first = next(iter(out_types.values()))
    if first.shape and first.shape[-1] == 1:
        return "binary"
    return "multilabel" if target_matrix else "multiclass"


def _per_position(train: TrainSpec, mode: str, graph: Any, out_types: dict, errors: list) -> bool:
    """Classification logits of rank >= 2 hold one prediction per position, classes on the LAST axis ((L, C)
    per token, (N, C) per node; segmentation, a program of its own, has them first). Multiclass only: a
    per-position binary or multilabel output is refused here rather than failing in the trainer."""
    if train.task.type != "classification" or train.program.mode is not None:
        return False
    name, out = next(iter(out_types.items()))
    if len(out.shape) < 2:
        return False
    if mode != "multiclass":
        shape = "(" + ", ".join(str(d) for d in out.shape) + ")"
        errors.append(SpecError(f"output {name!r} is {shape}: {mode} classification per position is not supported",
                                path=_output_path(graph, name),
                                hint="give each position C >= 2 class logits on the last axis (multiclass per position, "
                                     "cross_entropy), or flatten the output for one prediction per sample"))
        return False
    return True


def _output_path(graph: Any, name: str) -> SpecPath:
    for out_name, value in graph.outputs:
        if out_name == name and value[0] != "input":
            return graph.node(value[1]).path
    return ("model", "outputs")


def _ignore_index(losses: list[LossBinding], errors: list) -> int:
    """The one target value that marks padded positions, for the data, the losses and the metrics."""
    found = [(b.spec.ignore_index, b.path) for b in losses if hasattr(b.spec, "ignore_index")]
    for value, path in found[1:]:
        if value != found[0][0]:
            errors.append(SpecError(f"losses ignore different targets ({found[0][0]} and {value}); padded positions "
                                    "carry one ignore index", path=path + ("ignore_index",),
                                    hint=f"give every loss ignore_index: {found[0][0]}"))
    return found[0][0] if found else -100


def _num_classes(mode: str, out_types: dict, per_position: bool = False) -> Optional[int]:
    first = next(iter(out_types.values())).shape
    if per_position:
        return first[-1] if isinstance(first[-1], int) else None
    if mode in ("multiclass", "multilabel") and first and isinstance(first[0], int):
        return first[0]
    if mode == "binary":
        return 2
    if mode == "segmentation" and first and isinstance(first[0], int):
        return first[0]
    if mode in ("language_model", "seq2seq") and first and isinstance(first[-1], int):
        return first[-1]
    return None


def _default_target(mode: str) -> Optional[str]:
    return {"reconstruction": None, "language_model": "next", "seq2seq": "tgt_out", "segmentation": "mask"}.get(mode, "target")


def _losses(train: TrainSpec, mode: str, graph: Any, out_types: dict, errors: list) -> list[LossBinding]:
    from ..losses.classification import BceWithLogits, CrossEntropy
    from ..losses.regression import Mse

    if train.loss is None:
        default = {"multiclass": CrossEntropy(type="cross_entropy"), "binary": BceWithLogits(type="bce_with_logits"),
                   "multilabel": BceWithLogits(type="bce_with_logits"),
                   "language_model": CrossEntropy(type="cross_entropy", ignore_index=getattr(train.task, "ignore_index", -100)),
                   "seq2seq": CrossEntropy(type="cross_entropy", ignore_index=getattr(train.program, "special_tokens", None).pad)
                   if mode == "seq2seq" else None,
                   "segmentation": CrossEntropy(type="cross_entropy")}.get(mode, Mse(type="mse"))
        items, from_spec = [default], False
    else:
        items, from_spec = list(train.loss), True
    out: list[LossBinding] = []
    names = list(out_types)
    for i, loss in enumerate(items):
        path: SpecPath = ("train", "loss", i) if from_spec else ("train",)
        wanted = loss.output if isinstance(loss.output, list) else [loss.output] if loss.output else None
        if wanted is None:
            need = LOSSES.of(loss).arity
            wanted = names[:need] if len(names) >= need else names
        for name in wanted:
            if name not in out_types:
                errors.append(SpecError(f"loss reads output {name!r}, which the model does not return",
                                        path=path + ("output",), hint=f"outputs: {', '.join(names)}"))
        if from_spec and mode not in LOSSES.of(loss).fits:
            errors.append(SpecError(f"loss {loss.type!r} does not fit the task ({mode})", path=path + ("type",),
                                    hint=f"use one of: {', '.join(fitting(mode))}"))
        target = loss.target if loss.target is not None else _default_target(mode)
        out.append(LossBinding(loss, tuple(wanted), target, path))
    return out


def _metrics(train: TrainSpec, mode: str, errors: list) -> list[Metric]:
    if train.metrics is None:
        return [metric(m) for m in DEFAULT_METRICS[mode]]
    seen: set[str] = set()
    for i, m in enumerate(train.metrics):
        if mode not in m.TASKS:
            errors.append(SpecError(f"metric {m.type!r} does not fit the task ({mode})", path=("train", "metrics", i),
                                    hint=f"use one of: {', '.join(sorted(metrics_for(mode)))}"))
        if m.key in seen:
            errors.append(SpecError(f"metric {m.key!r} is listed twice", path=("train", "metrics", i),
                                    hint="give one of them a `name`"))
        seen.add(m.key)
    return list(train.metrics)


def _class_weights(spec: Any, train: TrainSpec, num_classes: Optional[int], errors: list) -> None:
    found = []
    if spec.data is not None and isinstance(spec.data.class_weights, list):
        found.append((spec.data.class_weights, ("data", "class_weights")))
    for i, loss in enumerate(train.loss or []):
        cw = getattr(loss, "class_weights", None)
        if isinstance(cw, list):
            found.append((cw, ("train", "loss", i, "class_weights")))
    for weights, path in found:
        if num_classes is not None and len(weights) != num_classes:
            errors.append(SpecError(f"class_weights has {len(weights)} value(s), but the model predicts {num_classes} classes",
                                    path=path, hint="give one weight per class, or `auto` (inverse class frequency)"))


def _bindings(spec: Any, graph: Any, errors: list) -> None:
    if spec.data is None:
        return
    for name in spec.data.inputs:
        if name not in graph.inputs:
            errors.append(SpecError(f"{name!r} is not a model input", path=("data", "inputs", name), at_key=True,
                                    hint=f"model inputs: {', '.join(graph.inputs)}"))


def _warnings(spec: Any, train: TrainSpec, graph: Any, losses: list[LossBinding], warnings: list) -> None:
    opts = [("train", "optimizer")] if train.optimizer else []
    opts += [("train", "optimizers", k) for k in (train.optimizers or {})]
    for path in opts:
        opt = train.optimizer if len(path) == 2 else train.optimizers[path[2]]  # type: ignore[index]
        if not 1e-6 <= opt.lr <= 1:
            warnings.append(_warn(f"learning rate {opt.lr:g} is outside [1e-6, 1]", path + ("lr",),
                                  "typical values are 1e-4 … 1e-1 (search on a log scale)"))
    for binding in losses:
        if not LOSSES.of(binding.spec).expects_logits:
            continue
        for name, value in graph.outputs:
            if name in binding.outputs and value[0] != "input":
                node = graph.node(value[1])
                act = getattr(node.layer, "activation", None)
                tag = getattr(act, "tag", None) or node.layer.tag
                if tag in ("softmax", "sigmoid", "log_softmax"):
                    warnings.append(_warn(f"output {name!r} ends in {tag}, and {binding.spec.type} applies it again",
                                          node.path, f"drop the {tag}: {binding.spec.type} expects logits"))
    zero_gradient_warnings(graph, [o for b in losses for o in b.outputs] or [n for n, _ in graph.outputs], warnings)
    if train.batch_size <= 2 and any(n.layer.tag.startswith("batch_norm") for n in graph.nodes):
        warnings.append(_warn(f"BatchNorm with batch_size {train.batch_size} gives unreliable statistics",
                              ("train", "batch_size"), "use a batch of 8 or more, or layer_norm"))


def _warn(message: str, path: SpecPath, hint: str) -> SpecError:
    err = SpecError(message, path=path, hint=hint)
    err.kind = "warning"
    return err
