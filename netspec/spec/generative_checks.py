"""Training plans of the ``autoencoder``, ``vae``, ``gan`` and ``contrastive`` programs, checked
without torch by ``netspec validate`` and by the trainer (``plan_training`` dispatches here).

Every problem is a located SpecError: the models a program names exist (and no model is left
untrained); an autoencoder's reconstruction has its input's shape and its sparsity node exists; a
VAE's mu/logvar match the decoder's input and the decoder's output matches the encoder's input; a
GAN's generator output fits the discriminator's data input, the discriminator returns one score per
sample and the condition (labels) is an int64 input of both; a contrastive model has two or three
inputs of one shape whose embeddings share a shape. Likely mistakes are warnings (a sigmoid before
a with-logits loss, KL sparsity on units that are not sigmoid, WGAN-GP with batch norm in the
critic).
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from ..diagnostics import did_you_mean
from ..errors import SpecError, SpecPath
from ..layers.shapes import fmt_shape
from .plan import TrainPlan, _bindings, _warnings, check_optimizer_names, monitor_mode, plan_training

PROGRAM: SpecPath = ("train", "program")
#: output activation -> value range of generated samples (for image grids)
RANGES = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0)}


def plan_autoencoder(spec: Any, graphs: dict, errors: list, warnings: list) -> Optional[TrainPlan]:
    """The supervised plan with the reconstruction task, plus the noise and sparsity rules."""
    from .train import Reconstruction, Supervised

    train, program = spec.train, spec.train.program
    if "task" in train.model_fields_set and train.task.type != "reconstruction":
        errors.append(SpecError(f"the autoencoder program reconstructs its input; task {train.task.type!r} does not apply",
                                path=("train", "task"), hint="drop train.task"))
    inner = train.model_copy(update={"task": Reconstruction(type="reconstruction"), "program": Supervised(type="supervised")})
    plan = plan_training(spec.model_copy(update={"train": inner}), graphs, errors, warnings)
    if plan is None:
        return None
    plan.program = program
    graph = next(iter(graphs.values()))
    first = next(iter(graph.inputs))
    out_types = graph.output_types()
    for b in plan.losses:
        if b.target is None and b.outputs and b.outputs[0] in out_types:
            got, want = out_types[b.outputs[0]].shape, graph.inputs[first].shape
            if tuple(got) != tuple(want):
                errors.append(SpecError(f"reconstruction {b.outputs[0]!r} has shape {fmt_shape(got)}, but input {first!r} "
                                        f"has {fmt_shape(want)}", path=_output_path(graph, b.outputs[0]),
                                        hint=f"end the decoder with `reshape: {{shape: {list(want)}}}`"))
    if program.noise is not None and graph.inputs[first].dtype != "float32":
        errors.append(SpecError(f"input noise needs a float input; {first!r} is {graph.inputs[first].dtype}",
                                path=PROGRAM + ("noise",), hint="corrupt token inputs with a dropout on their embeddings"))
    if program.sparsity is not None:
        _sparsity_node(graph, program.sparsity, errors, warnings)
        plan.logged += [f"{s}.{k}" for k in ("sparsity", "mean_activation") for s in ("train", "val")]
    return plan


def _sparsity_node(graph: Any, sparsity: Any, errors: list, warnings: list) -> None:
    names = [n.name for n in graph.nodes]
    path = PROGRAM + ("sparsity", "node")
    if sparsity.node not in names:
        errors.append(SpecError(f"sparsity node {sparsity.node!r} is not a node of the model", path=path,
                                hint=did_you_mean(sparsity.node, names) or f"nodes: {', '.join(names[:12])}"))
        return
    if sparsity.type == "kl" and _final_tag(graph.node(sparsity.node)) != "sigmoid":
        warnings.append(_warn(f"KL sparsity compares mean activations with rho, so {sparsity.node!r} should output values "
                              "in (0, 1)", path, "give the node `activation: sigmoid`, or use type: l1"))


def plan_vae(spec: Any, graphs: dict, errors: list, warnings: list) -> Optional[TrainPlan]:
    program, before = spec.train.program, len(errors)
    enc, dec = _models(spec, graphs, program, ("encoder", "decoder"), errors)
    _own_loss(spec, errors)
    if enc is None or dec is None:
        return None
    outs = enc.output_types()
    for key in ("mu", "logvar") + (("z",) if program.z else ()):
        name = getattr(program, key)
        if name not in outs:
            errors.append(SpecError(f"{key} names {name!r}, which encoder {enc.name!r} does not return", path=PROGRAM + (key,),
                                    hint=f"outputs: {', '.join(outs)}"))
    if len(enc.inputs) != 1:
        errors.append(SpecError(f"the vae encoder takes one input (the data); {enc.name!r} has {len(enc.inputs)}",
                                path=enc.path, hint="give the encoder one input"))
    if len(dec.inputs) != 1:
        errors.append(SpecError(f"the vae decoder takes one input (z); {dec.name!r} has {len(dec.inputs)}",
                                path=dec.path, hint="give the decoder one input"))
    dec_out = program.output or next(iter(dec.output_types()))
    if dec_out not in dec.output_types():
        errors.append(SpecError(f"output names {dec_out!r}, which decoder {dec.name!r} does not return",
                                path=PROGRAM + ("output",), hint=f"outputs: {', '.join(dec.output_types())}"))
    if len(errors) > before:
        return None
    mu, logvar = outs[program.mu].shape, outs[program.logvar].shape
    z_name, z_type = next(iter(dec.inputs.items()))
    if tuple(mu) != tuple(logvar):
        errors.append(SpecError(f"mu {fmt_shape(mu)} and logvar {fmt_shape(logvar)} must have one shape",
                                path=_output_path(enc, program.logvar), hint="give both heads the same out_features"))
    if tuple(z_type.shape) != tuple(mu):
        errors.append(SpecError(f"decoder input {z_name!r} has shape {fmt_shape(z_type.shape)}, but mu is {fmt_shape(mu)}",
                                path=_input_path(spec, dec.name, z_name) + ("shape",), hint=f"set its shape to {list(mu)}"))
    data_name, data_type = next(iter(enc.inputs.items()))
    got = dec.output_types()[dec_out].shape
    if tuple(got) != tuple(data_type.shape):
        errors.append(SpecError(f"decoder output {dec_out!r} has shape {fmt_shape(got)}, but the encoder input {data_name!r} "
                                f"has {fmt_shape(data_type.shape)}", path=_output_path(dec, dec_out),
                                hint=f"end the decoder with `reshape: {{shape: {list(data_type.shape)}}}`"))
    tag = _final_tag(_output_node(dec, dec_out))
    if program.reconstruction == "bce" and tag != "sigmoid":
        warnings.append(_warn("reconstruction bce reads probabilities, but the decoder output does not end in a sigmoid",
                              PROGRAM + ("reconstruction",), "add `activation: sigmoid`, or use bce_with_logits"))
    if program.reconstruction == "bce_with_logits" and tag == "sigmoid":
        warnings.append(_warn("the decoder output ends in a sigmoid, and bce_with_logits applies it again",
                              PROGRAM + ("reconstruction",), "use reconstruction: bce, or drop the sigmoid"))
    plan = _plan(spec, graphs, enc, "reconstruction", ["reconstruction", "kl"], errors, warnings)
    plan.roles = {"data": data_name, "z": program.z or ("z" if "z" in outs else None), "output": dec_out,
                  "z_shape": list(mu), "range": RANGES.get(tag)}
    return plan


def plan_gan(spec: Any, graphs: dict, errors: list, warnings: list) -> Optional[TrainPlan]:
    program, before = spec.train.program, len(errors)
    gen, disc = _models(spec, graphs, program, ("generator", "discriminator"), errors)
    _own_loss(spec, errors)
    if gen is None or disc is None:
        return None
    cond = _condition(program, gen, disc, errors)
    noise = _noise_input(program, gen, cond, errors)
    others = [n for n in gen.inputs if n not in (noise, cond)]
    if others:
        errors.append(SpecError(f"generator input {others[0]!r} is neither the noise nor the condition",
                                path=_input_path(spec, gen.name, others[0]), at_key=True,
                                hint="a generator takes noise (and, conditional, class labels) only"))
    data_inputs = [n for n in disc.inputs if n != cond]
    if len(data_inputs) != 1:
        errors.append(SpecError(f"the discriminator takes one sample input (besides the condition); it has {len(data_inputs)}",
                                path=disc.path, hint="declare one input for the real/generated sample"))
    if len(errors) > before:
        return None
    sample = data_inputs[0]
    g_out, g_type = next(iter(gen.output_types().items()))
    want = disc.inputs[sample].shape
    if tuple(g_type.shape) != tuple(want):
        errors.append(SpecError(f"generator output {g_out!r} has shape {fmt_shape(g_type.shape)}, but discriminator input "
                                f"{sample!r} expects {fmt_shape(want)}", path=_output_path(gen, g_out),
                                hint="make the generator produce samples of the data's shape"))
    d_out, d_type = next(iter(disc.output_types().items()))
    if tuple(d_type.shape) not in ((), (1,)):
        errors.append(SpecError(f"the discriminator returns one score per sample; {d_out!r} has shape {fmt_shape(d_type.shape)}",
                                path=_output_path(disc, d_out), hint="end with `linear: {out_features: 1}`"))
    loss = program.loss.type
    if loss in ("minimax", "non_saturating", "wgan", "wgan_gp") and _final_tag(_output_node(disc, d_out)) == "sigmoid":
        warnings.append(_warn(f"the {loss} loss reads a logit (or critic score), but the discriminator ends in a sigmoid",
                              _output_path(disc, d_out), "drop the sigmoid"))
    if loss == "wgan_gp" and any(n.layer.tag.startswith("batch_norm") for n in disc.nodes):
        warnings.append(_warn("the gradient penalty is per sample, and batch norm in the critic mixes samples",
                              PROGRAM + ("loss",), "use layer_norm (or no normalization) in the discriminator"))
    mode = "multiclass" if cond else "generative"
    plan = _plan(spec, graphs, disc, mode, ["d_loss", "g_loss"] + (["wasserstein"] if loss.startswith("wgan") else ["d_accuracy"]),
                 errors, warnings)
    plan.roles = {"noise": noise, "condition": cond, "sample": sample, "d_output": d_out, "g_output": g_out,
                  "noise_shape": list(gen.inputs[noise].shape), "range": RANGES.get(_final_tag(_output_node(gen, g_out))),
                  "num_classes": _num_embeddings(gen, cond)}
    if spec.train.early_stopping is None:  # the adversarial losses say nothing about sample quality:
        plan.monitor = None                # no best epoch, the run keeps (and reports) its last weights
    return plan


def plan_contrastive(spec: Any, graphs: dict, errors: list, warnings: list) -> Optional[TrainPlan]:
    from ..losses import LOSSES
    from ..losses.pairs import Contrastive, Triplet

    train, before = spec.train, len(errors)
    if len(graphs) != 1:
        errors.append(SpecError(f"the contrastive program trains one (shared) tower model; this spec has {len(graphs)}",
                                path=("models",), at_key=True, hint="use `model:` with `share:` for the second input"))
        return None
    graph = next(iter(graphs.values()))
    names = list(graph.inputs)
    if len(names) not in (2, 3):
        errors.append(SpecError(f"the contrastive program feeds two (pairs) or three (triplets) inputs; the model has {len(names)}",
                                path=graph.path, hint="declare inputs for the two (or anchor/positive/negative) samples"))
        return None
    types = [graph.inputs[n] for n in names]
    for n, t in zip(names[1:], types[1:]):
        if tuple(t.shape) != tuple(types[0].shape) or t.dtype != types[0].dtype:
            errors.append(SpecError(f"input {n!r} must have the shape and dtype of {names[0]!r}", path=_input_path(spec, graph.name, n),
                                    hint=f"{names[0]!r} is {fmt_shape(types[0].shape)} {types[0].dtype}"))
    losses = list(train.loss or [Contrastive(type="contrastive") if len(names) == 2 else Triplet(type="triplet")])
    if len(losses) != 1:
        errors.append(SpecError("the contrastive program takes one loss", path=("train", "loss"), hint="keep one"))
        return None
    loss = losses[0]
    need = LOSSES.of(loss).arity
    where = ("train", "loss", 0) if train.loss else ("train",)
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
    shapes = {tuple(outs[o].shape) for o in wanted}
    if len(shapes) != 1:
        errors.append(SpecError("the embeddings must have one shape", path=where + ("output",),
                                hint="produce them with the same (shared) tower"))
    from .plan import LossBinding

    extra = ["knn_accuracy"] if train.program.knn_reference else []
    plan = _plan(spec, graphs, graph, "multiclass", extra, errors, warnings, data_inputs=names[:1])
    plan.losses = [LossBinding(loss, tuple(wanted), train.program.labels, where)]
    plan.roles = {"inputs": names, "sampling": "triplets" if need == 3 else "pairs"}
    return plan


# ---- shared --------------------------------------------------------------------------------------

def _plan(spec: Any, graphs: dict, data_graph: Any, mode: str, extra: list[str], errors: list, warnings: list,
          data_inputs: Optional[list[str]] = None) -> TrainPlan:
    """A plan with no supervised losses: what is logged, monitor checks, data bindings, warnings."""
    train = spec.train
    check_optimizer_names(train, graphs, errors)
    logged = ["train.loss", "val.loss", "lr"] + [f"{s}.{k}" for k in extra for s in ("train", "val")]
    if len(graphs) > 1:
        logged += [f"lr.{name}" for name in graphs]
    es = train.early_stopping
    monitor = es.monitor if es else "val.loss"
    if es and monitor not in logged:
        errors.append(SpecError(f"early stopping monitors {monitor!r}, which is not logged", path=("train", "early_stopping", "monitor"),
                                hint=f"logged: {', '.join(k for k in logged if not k.startswith('lr'))}"))
    sched = train.schedule
    if sched is not None and sched.type == "reduce_on_plateau" and sched.monitor not in logged:
        errors.append(SpecError(f"reduce_on_plateau monitors {sched.monitor!r}, which is not logged",
                                path=("train", "schedule", "monitor"), hint=f"logged: {', '.join(logged)}"))
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


def _models(spec: Any, graphs: dict, program: Any, keys: tuple[str, ...], errors: list) -> list[Any]:
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


def _own_loss(spec: Any, errors: list) -> None:
    if spec.train.loss is not None:
        errors.append(SpecError(f"the {spec.train.program.type} program computes its own loss", path=("train", "loss"),
                                hint="drop train.loss; choose the loss in train.program"))


def _condition(program: Any, gen: Any, disc: Any, errors: list) -> Optional[str]:
    if program.condition is None:
        common = [n for n in gen.inputs if n in disc.inputs and gen.inputs[n].dtype == "int64"]
        return common[0] if common else None
    for graph in (gen, disc):
        t = graph.inputs.get(program.condition)
        if t is None or t.dtype != "int64":
            errors.append(SpecError(f"condition {program.condition!r} must be an int64 input (class labels) of {graph.name!r}",
                                    path=PROGRAM + ("condition",), hint=f"{graph.name} inputs: {', '.join(graph.inputs)}"))
            return None
    if tuple(gen.inputs[program.condition].shape) != tuple(disc.inputs[program.condition].shape):
        errors.append(SpecError(f"condition {program.condition!r} has different shapes in the two models",
                                path=PROGRAM + ("condition",), hint="one label per sample: shape []"))
    return program.condition


def _noise_input(program: Any, gen: Any, cond: Optional[str], errors: list) -> Optional[str]:
    candidates = [n for n, t in gen.inputs.items() if n != cond and t.dtype == "float32"]
    if program.noise is not None:
        if program.noise not in candidates:
            errors.append(SpecError(f"noise names {program.noise!r}, which is not a float input of {gen.name!r}",
                                    path=PROGRAM + ("noise",), hint=f"float inputs: {', '.join(candidates) or 'none'}"))
            return None
        return program.noise
    if len(candidates) != 1:
        errors.append(SpecError(f"cannot tell which generator input takes the noise ({len(candidates)} float inputs)",
                                path=PROGRAM, hint="set train.program.noise"))
        return None
    return candidates[0]


def _num_embeddings(graph: Any, name: Optional[str]) -> Optional[int]:
    """Classes of a condition input: num_embeddings of the embedding that reads it."""
    for node in graph.nodes:
        if name and node.layer.tag == "embedding" and any(v[:2] == ("input", name) for v in node.inputs):
            return node.layer.num_embeddings
    return None


def _input_path(spec: Any, model: str, name: str) -> SpecPath:
    mdef = spec.model_defs()[model]
    return (spec.model_path(model) if mdef.inputs is not None else ()) + ("inputs", name)


#: layers that move values without changing them: an activation before them still decides the range
RESHAPES = ("flatten", "reshape", "unflatten", "squeeze", "unsqueeze", "permute")


def _output_node(graph: Any, name: str) -> Any:
    """The node producing output ``name`` (the one before any trailing reshapes; None for an input)."""
    value = dict(graph.outputs)[name]
    node = graph.node(value[1]) if value[0] != "input" else None
    while node is not None and node.layer.tag in RESHAPES and getattr(node.layer, "activation", None) is None:
        src = node.inputs[0]
        node = graph.node(src[1]) if src[0] != "input" else None
    return node


def _output_path(graph: Any, name: str) -> SpecPath:
    value = dict(graph.outputs)[name]
    return graph.node(value[1]).path if value[0] != "input" else graph.path


def _final_tag(node: Any) -> Optional[str]:
    if node is None:
        return None
    act = getattr(node.layer, "activation", None)
    return getattr(act, "tag", None) or node.layer.tag


def _warn(message: str, path: SpecPath, hint: str) -> SpecError:
    err = SpecError(message, path=path, hint=hint)
    err.kind = "warning"
    return err


PLANNERS: dict[str, Callable[..., Optional[TrainPlan]]] = {
    "autoencoder": plan_autoencoder, "vae": plan_vae, "gan": plan_gan, "contrastive": plan_contrastive}
