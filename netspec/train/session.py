"""Everything a run needs, built from a checked spec: device, data, model, program, optimizer,
schedule, updater, data-order generator, and (when resuming) the saved state put back.

``build_session(checked, epochs=, device=, resume=)`` is the one constructor; the loop
(``netspec.train.loop.fit``) and ``evaluate`` work on the Session it returns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import torch

from ..check import Checked
from ..checks.plan import plan_training
from ..compiler import compile_model
from ..data import DataBundle, make_loaders, prepare_data
from ..data.progress import reporting
from ..errors import SpecErrors, TrainError, raise_all
from ..optimizers import optimizer_for
from ..programs.plan import TrainPlan
from ..resources import check_data_fits, check_fits
from ..spec.train import TrainSpec
from .fastpath import resolve_fast_path
from .guard import Guard
from .optim import build_optimizer
from .programs.base import ProgramContext, TrainProgram, runtime_class
from .regularize import clip_fn, load_pretrained, max_norm_fn, penalty_fn, set_trainable
from .runtime import Precision, pick_device, seed_everything, set_rng_state
from .schedules import Schedule
from .step import Slot, Updater


@dataclass
class Session:
    checked: Checked
    train: TrainSpec
    plan: TrainPlan
    base: Path
    device: torch.device
    precision: Precision
    data: DataBundle
    models: dict[str, torch.nn.Module]
    program: TrainProgram
    updater: Updater
    generator: torch.Generator
    epoch: int = 0  # completed epochs
    tracker: dict[str, Any] = field(default_factory=dict)
    resumed_from: Optional[dict] = None
    dist: Any = None  # a DistContext when the run spans several processes (netspec.train.distributed)
    fast: Any = None  # the resolved fast path (netspec.train.fastpath.FastPath)

    @property
    def spec(self):
        return self.checked.spec


def resolve_plan(checked: Checked) -> TrainPlan:
    errors: list = []
    plan = plan_training(checked.spec, checked.graphs, errors, [])  # the mode as validate resolves it (plan.py)
    raise_all(errors)
    if plan is None:
        raise TrainError("the spec has no model to train")
    return plan


def build_session(checked: Checked, epochs: Optional[int] = None, device: Optional[str] = None,
                  resume: Optional[dict] = None, preprocess: Optional[dict] = None, dist: Any = None,
                  stage: Optional[Callable[[str], None]] = None) -> Session:
    """Build a run; ``resume`` is a checkpoint to continue, ``preprocess`` a saved preprocessing state
    to apply instead of fitting one (evaluate/predict). Every model of the spec is compiled and gets
    its own optimizer (``netspec.optimizers.optimizer_for``), schedule and hooks.
    ``dist`` (a DistContext) makes this one rank of a distributed run: its share of every batch,
    models wrapped in DDP or sharded by FSDP, a random stream of its own. ``stage`` (optional)
    hears what is being done before the first epoch (the CLI shows it)."""
    spec = checked.spec
    train = (spec.train or TrainSpec()).model_copy(update={k: v for k, v in (("epochs", epochs), ("device", device)) if v})
    plan = resolve_plan(checked)
    program_cls = runtime_class(train.program)  # the program's TrainProgram (netspec.train.programs.base)
    seed_everything(train.seed, train.deterministic)
    dev = pick_device(train.device)
    fast = resolve_fast_path(train, dev, checked.graphs)  # every `auto` of the fast path, for this device (fastpath.py)
    fast.apply_process()  # TF32 flags, CPU threads
    train = fast.resolved(train)
    precision = Precision(train.precision, dev, fast.attention)
    base = Path(checked.loaded.file).resolve().parent
    view = program_cls.data_graph(checked.graphs, plan)
    say = stage or (lambda text: None)
    if preprocess is None:
        check_data_fits(spec)  # before building anything: the data alone may not fit
    say(f"loading the data ({_source_name(spec)})")
    with reporting(say):  # a cache or token file being built says how far it is
        bundle = prepare_data(spec, plan, view, base, state=resume.get("preprocess") if resume else preprocess)
        make_loaders(bundle, fast.data_spec(spec.data), dev, train.batch_size, train.eval_batch_size or 4 * train.batch_size)
    if preprocess is None:  # training (not evaluate/predict): refuse a run the free memory cannot hold (resources.py)
        check_fits(spec, checked.graphs, dev)
    say(f"data: {', '.join(f'{bundle.size(k):,} {k}' for k in bundle.arrays)} samples; building the model "
        f"({sum(g.params for g in checked.graphs.values()):,} parameters) on {dev}")
    models = {name: compile_model(graph, seed=train.seed + i).to(dev) for i, (name, graph) in enumerate(checked.graphs.items())}
    if train.pretrained is not None and resume is None:
        load_pretrained(train.pretrained, _pretrained_target(train, models), base)
    if train.freeze and sum(set_trainable(m, train.freeze, False) for m in models.values()) == 0:
        raise TrainError("freeze matches no parameter", path=("train", "freeze"),
                         hint="globs match node names (hidden1, layer1.*) or parameter names (hidden1.weight)")
    for name, model in models.items():  # channels_last, padded vocabulary heads
        fast.prepare(model, checked.graphs[name])
    weights = torch.tensor(bundle.class_weights, dtype=torch.float32, device=dev) if bundle.class_weights is not None else None
    wrapped = models
    if dist is not None:
        from .distributed.wrap import distribute

        wrapped = distribute(dist, bundle, models, train)
    forward = {k: fast.compile_fn(m) if fast.compile else m for k, m in wrapped.items()}
    program = program_cls(ProgramContext(models, forward, plan, bundle.inputs, dev, train, bundle, weights, base,
                                         resuming=resume is not None))
    if fast.compile:  # e.g. the supervised loss compiles into the forward pass (fused)
        program.compile(fast.compile_fn)
    steps = math.ceil(len(bundle.loaders["train"]) / train.accumulate)
    rule = program_cls.rule_optimizer(train)  # a program that never steps an optimizer (perceptron) names its own
    slots = {name: _slot(train, name, model, max(steps, 1), rule) for name, model in models.items()}
    updater = Updater(slots, precision, train.accumulate)
    updater.guard = Guard(train.nonfinite, scaled=updater.scaler is not None)  # reliability: NaN/Inf (guard.py)
    train_batches = getattr(bundle.loaders["train"], "base", bundle.loaders["train"])  # a rank's share wraps them
    gen_device = dev if train_batches.__class__.__name__ == "DeviceBatches" and dev.type == "cuda" else torch.device("cpu")
    gen = torch.Generator(device=gen_device).manual_seed(train.seed)
    session = Session(checked, train, plan, base, dev, precision, bundle, models, program, updater, gen)
    session.dist, session.fast = dist, fast
    if dist is not None and dist.world_size > 1:  # every rank takes the same non-finite decision
        updater.guard.reduce = _sum_over_ranks
    if resume is not None:
        restore(session, resume)
    if dist is not None:
        dist.seed_rank(train.seed, session.epoch)
    return session


def _source_name(spec: Any) -> str:
    src = spec.data.source if spec.data is not None else None
    if src is None:
        return "no data section"
    label = getattr(src, "name", None) or getattr(src, "path", None) or getattr(src, "kind", None)
    return f"{src.type} {label}" if label else src.type


def _slot(train: TrainSpec, name: str, model: torch.nn.Module, steps_per_epoch: int, rule: Any = None) -> Slot:
    """Optimizer, schedule and hooks of one model (``rule``: the optimizer of a program that never steps one)."""
    optimizer = build_optimizer(optimizer_for(train, name, rule), model, train.performance.optimizer_impl)
    schedule = Schedule(train.schedule, optimizer, train.epochs, steps_per_epoch)
    return Slot(model, optimizer, schedule, penalty_fn(train.regularization, model), clip_fn(train.grad_clip, model),
                max_norm_fn(train.regularization.max_norm, model))


def _pretrained_target(train: TrainSpec, models: dict[str, torch.nn.Module]) -> torch.nn.Module:
    """The model ``pretrained`` loads into: the only one, or (several) the one named by ``model``."""
    if len(models) == 1:
        return next(iter(models.values()))
    name = train.pretrained.model  # type: ignore[union-attr]
    if name not in models:
        raise TrainError("with several models, pretrained.model must name the model to load (the checkpoint's model of "
                         "the same name is read)", path=("train", "pretrained", "model"), hint=f"models: {', '.join(models)}")
    return models[name]


def restore(session: Session, ckpt: dict) -> None:
    """Put a checkpoint's state back: weights, optimizer, schedule, scaler, counters, RNG states."""
    for name, model in session.models.items():
        try:
            load_model(session, model, ckpt["models"][name])
        except (KeyError, RuntimeError) as exc:
            raise TrainError(f"the checkpoint does not fit this spec's model {name!r}: {str(exc).splitlines()[0]}",
                             hint="resume with the spec the run was started with") from None
        slot = session.updater.slots[name]
        _load_optimizer(session, model, slot.optimizer, ckpt["optimizers"][name])
        slot.schedule.load_state_dict(ckpt["schedules"][name])
        slot.steps = (ckpt.get("steps") or {}).get(name, ckpt.get("step", 0))
    if ckpt.get("program"):
        session.program.load_state_dict(ckpt["program"])
    if session.updater.scaler is not None and ckpt.get("scaler"):
        session.updater.scaler.load_state_dict(ckpt["scaler"])
    session.epoch = ckpt["epoch"]
    session.tracker = dict(ckpt.get("tracker") or {})
    set_rng_state(ckpt["rng"], session.generator)
    session.resumed_from = ckpt


def load_model(session: Session, model: torch.nn.Module, state: dict) -> None:
    """``model.load_state_dict(state)``; on an FSDP rank, a full state dict is cut into its shards."""
    if session.dist is None:
        model.load_state_dict(state)
    else:  # FSDP cuts a full state dict into this rank's shards
        from .distributed.wrap import load_model_state

        load_model_state(session.dist, model, state)


def _load_optimizer(session: Session, model: torch.nn.Module, optimizer: torch.optim.Optimizer, state: dict) -> None:
    if session.dist is None:
        optimizer.load_state_dict(state)
    else:
        from .distributed.wrap import load_optimizer_state

        load_optimizer_state(session.dist, model, optimizer, state)


def located(exc: Exception, checked: Checked) -> Exception:
    """Attach the spec's source map so the CLI can show file:line:col."""
    if getattr(exc, "source", None) is None:
        exc.source = checked.loaded.source  # type: ignore[attr-defined]
    if isinstance(exc, SpecErrors):
        for e in exc.errors:
            e.source = e.source or checked.loaded.source
    return exc


def _sum_over_ranks(value: torch.Tensor) -> torch.Tensor:
    """``value`` (one element) summed over the process group: NaN anywhere stays NaN."""
    import torch.distributed as tdist

    out = value.detach().float().reshape(1).clone()
    tdist.all_reduce(out)
    return out
