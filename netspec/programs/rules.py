"""Graph helpers the programs' planning rules share: where an output or input is in the spec,
which node produces an output, the activation a value ends in, and located warnings."""

from __future__ import annotations

from typing import Any, Optional, Sequence, cast

from ..diagnostics import did_you_mean
from ..errors import SpecError, SpecPath
from .plan import TrainPlan

PROGRAM: SpecPath = ("train", "program")
#: output activation -> value range of generated samples (for image grids)
RANGES = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0)}
#: layers that move values without changing them: an activation before them still decides the range
RESHAPES = ("flatten", "reshape", "unflatten", "squeeze", "unsqueeze", "permute")


def fmt_shape(shape: Sequence[Any]) -> str:
    inner = ", ".join(str(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def output_node(graph: Any, name: str) -> Any:
    """The node producing output ``name`` (the one before any trailing reshapes; None for an input)."""
    value = dict(graph.outputs)[name]
    node = graph.node(value[1]) if value[0] != "input" else None
    while node is not None and node.layer.tag in RESHAPES and getattr(node.layer, "activation", None) is None:
        src = node.inputs[0]
        node = graph.node(src[1]) if src[0] != "input" else None
    return node


def output_path(graph: Any, name: str) -> SpecPath:
    value = dict(graph.outputs)[name]
    return cast(SpecPath, graph.node(value[1]).path if value[0] != "input" else graph.path)  # graph: a netspec.graph Graph (above spec)


def input_path(spec: Any, model: str, name: str) -> SpecPath:
    mdef = spec.model_defs()[model]
    return (spec.model_path(model) if mdef.inputs is not None else ()) + ("inputs", name)


def final_tag(node: Any) -> Optional[str]:
    if node is None:
        return None
    act = getattr(node.layer, "activation", None)
    return cast(Optional[str], getattr(act, "tag", None) or node.layer.tag)


def warn(message: str, path: SpecPath, hint: str) -> SpecError:
    err = SpecError(message, path=path, hint=hint)
    err.kind = "warning"
    return err


def named_models(spec: Any, graphs: dict[str, Any], program: Any, keys: tuple[str, ...], errors: list[SpecError]) -> list[Any]:
    """The graphs the program's fields ``keys`` name (None where missing); every model must be one of them."""
    found = []
    for key in keys:
        name = getattr(program, key)
        if name not in graphs:
            errors.append(SpecError(f"{key} names model {name!r}, which the spec does not define", path=PROGRAM + (key,),
                                    hint=did_you_mean(name, graphs) or f"models: {', '.join(graphs)}"))
        found.append(graphs.get(name))
    used = {getattr(program, k) for k in keys}
    for name in graphs:
        if name not in used:
            errors.append(SpecError(f"the {program.type} program trains {' and '.join(sorted(used))}; model {name!r} would "
                                    "never be trained", path=spec.model_path(name), at_key=True,
                                    hint=f"remove it, or name it in train.program ({', '.join(keys)})"))
    return found


def own_loss(spec: Any, errors: list[SpecError]) -> None:
    if spec.train.loss is not None:
        errors.append(SpecError(f"the {spec.train.program.type} program computes its own loss", path=("train", "loss"),
                                hint="drop train.loss; choose the loss in train.program"))


def own_task(planner: Any, plan: Any) -> None:
    """A program with a fixed mode trains its own task: a written ``train.task`` of another kind is an error."""
    train = planner.spec.train
    if "task" in train.model_fields_set and train.task.type != plan.mode:
        planner.errors.append(SpecError(f"the {train.program.type} program trains its own task; task {train.task.type!r} "
                                        "does not apply", path=("train", "task"), hint="drop train.task"))


def own_task_plan(planner: Any) -> tuple[Optional[TrainPlan], Optional[tuple[Any, str, Any]]]:
    """The supervised plan of a program that trains its own task (``own_task`` checked), and the output
    its first loss reads (``first_output``); (None, None) when there is no plan."""
    plan: Optional[TrainPlan] = planner.supervised()
    if plan is None:
        return None, None
    own_task(planner, plan)
    return plan, first_output(planner, plan)


def first_output(planner: Any, plan: Any) -> Optional[tuple[Any, str, Any]]:
    """(graph, name, type) of the output the first loss reads; None when that binding is reported already."""
    graph = next(iter(planner.graphs.values()))
    losses = plan.losses
    if not losses or not losses[0].outputs or losses[0].outputs[0] not in graph.output_types():
        return None
    name = losses[0].outputs[0]
    return graph, name, graph.output_types()[name]


def logits_2d(graph: Any, name: str, out: Any, what: str, errors: list[SpecError]) -> bool:
    if len(out.shape) == 2 and isinstance(out.shape[-1], int):
        return True
    errors.append(SpecError(f"output {name!r} is {fmt_shape(out.shape)}, but {what} returns (L, V) token logits",
                            path=output_path(graph, name),
                            hint="end the model in a linear layer to vocabulary size, applied per step"))
    return False


def token_input(graph: Any, name: str, path: SpecPath, role: str, errors: list[SpecError]) -> bool:
    t = graph.inputs[name]
    if t.dtype == "int64" and len(t.shape) == 1:
        return True
    errors.append(SpecError(f"{role} {name!r} must be int64 token ids of shape (L,), got {t.dtype} {fmt_shape(t.shape)}",
                            path=path, hint="e.g. {shape: [seq], dtype: int64}"))
    return False
