"""``train.nonfinite``: NaN/Inf in a loss or gradient stops the run before the bad update, or
skips the step (see ``netspec.spec.reliability`` for the user-facing rules).

``Guard`` sits in the ``Updater``: ``watch(names, loss)`` notes whether each loss handed to it is
finite, and ``allow(name, slot)`` — called before the optimizer steps — adds (skip mode, or
``stop`` with ``gradients: true``) the gradients' check
(the GradScaler's fused inf/NaN kernel at scale 1, folded with the losses into one value and one
host read; gradients are left to the GradScaler under fp16, which skips such
steps itself, so there ``skip`` is the scaler's and ``stop`` checks the loss). A bad step raises
``NonFinite`` (stop) or returns False (skip).

The loop catches ``NonFinite`` with the batch in hand and ``diagnose`` turns it into a located
TrainError: the weights are still those that produced the bad values, so the batch is run again
with forward hooks on every node, to name the first node whose output is not finite, and (for
programs with loss terms) each term is evaluated on its own to name the one that is not.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Optional

import torch

from ..errors import TrainError

HINT = ("lower the learning rate, add gradient clipping (train.grad_clip), check the data for NaN/Inf, or set "
        "`train.nonfinite: skip` to drop such steps; the last checkpoint written (last.pt) is kept as it was")


class NonFinite(Exception):
    """Raised inside the updater; the loop turns it into a TrainError with ``diagnose``."""

    def __init__(self, model: str, step: int, what: str, seen_at: Optional[int] = None, skipped: int = 0) -> None:
        super().__init__(f"non-finite {what} of model {model!r} at step {step}")
        self.model, self.step, self.what, self.seen_at, self.skipped = model, step, what, seen_at, skipped


_ONES: dict[torch.device, torch.Tensor] = {}


def nonfinite_grads(params: list[torch.nn.Parameter]) -> Optional[torch.Tensor]:
    """A one-element device tensor: 0 when every gradient is finite, > 0 otherwise (None without
    gradients). One fused kernel per (device, dtype) -- the GradScaler's own inf/NaN check, with an
    unscale factor of 1 (x * 1.0 is x, bit for bit): a quarter of a fused norm's cost on CPU."""
    groups: dict[tuple, list[torch.Tensor]] = {}
    for p in params:
        g = p.grad
        if g is None:
            continue
        if hasattr(g, "to_local"):  # FSDP: this rank's shard (the verdict is summed over the ranks)
            g = g.to_local()
        if g.is_sparse:
            g = g.coalesce().values()
        groups.setdefault((g.device, g.dtype), []).append(g)
    found = None
    for (device, _), grads in groups.items():
        one = _ONES.get(device)
        if one is None:
            one = _ONES[device] = torch.ones(1, device=device)
        f = torch.zeros(1, device=device)
        torch._amp_foreach_non_finite_check_and_unscale_(grads, f, one)
        found = f if found is None else found + f.to(found.device)
    return found


def total(values: list[torch.Tensor]) -> Optional[torch.Tensor]:
    """The sum of the values as one device scalar (None for none): NaN or Inf in any of them makes it
    non-finite (Inf - Inf is NaN)."""
    if not values:
        return None
    if len(values) == 1:
        return values[0].detach().float()
    return torch.stack([v.detach().float() for v in values]).sum()


def badness(losses: list[torch.Tensor], grads_bad: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
    """A device tensor that is 0 exactly when the losses and gradients are all finite (NaN or > 0
    otherwise: a non-finite loss times 0 is NaN)."""
    loss = total(losses)
    if loss is None:
        return grads_bad
    loss = loss * 0
    return loss if grads_bad is None else grads_bad + loss.to(grads_bad.device)


class Guard:
    def __init__(self, spec: Any, scaled: bool) -> None:
        self.spec, self.scaled = spec, scaled
        self.losses: dict[str, list[torch.Tensor]] = {}  # per optimizer slot: the losses since its last step
        self.skipped = self.skipped_epoch = 0
        self.checks = 0
        self.first_bad: Optional[torch.Tensor] = None  # stop every N > 1: first bad step, on the device
        self.dropped: Optional[torch.Tensor] = None  # skip: samples of this epoch with a non-finite loss
        self.params: dict[str, list[torch.nn.Parameter]] = {}  # per slot, listed once (a module walk per step costs)
        # distributed runs: sums the verdict over the ranks, so every rank stops (or skips) the same step
        self.reduce: Optional[Callable[[torch.Tensor], torch.Tensor]] = None

    def watch(self, names: tuple[str, ...], loss: torch.Tensor) -> None:
        # kept as is (read after backward, detached where computed on): a detach per step costs
        value = loss if loss.ndim == 0 else loss.detach().abs().sum()  # NaN/Inf anywhere stays so
        for name in names:
            self.losses.setdefault(name, []).append(value)

    def allow(self, name: str, slot: Any) -> bool:
        """Whether slot ``name`` may take its optimizer step now."""
        losses = self.losses.pop(name, [])
        if self.scaled and self.spec.type == "skip":
            return True  # fp16: the GradScaler already skips steps with non-finite gradients (and rescales)
        grads = not self.scaled and (self.spec.type == "skip" or self.spec.gradients)
        if grads and name not in self.params:
            self.params[name] = list(slot.model.parameters())
        every = getattr(self.spec, "every", 1)
        if self.reduce is None and not grads and every == 1 and len(losses) == 1:  # one host read, no device op
            if math.isfinite(losses[0].item()):
                return True
            bad = losses[0]
        else:
            bad = badness(losses, nonfinite_grads(self.params[name]) if grads else None)
            if bad is None:
                return True
            if self.reduce is not None:
                bad = self.reduce(bad)
        step = slot.steps + 1
        if every > 1:  # record on the device, look every N steps (one host sync per N)
            ok = (bad == 0).all()
            self.first_bad = torch.full_like(ok, -1, dtype=torch.long) if self.first_bad is None else self.first_bad
            self.first_bad = torch.where((self.first_bad < 0) & ~ok, step, self.first_bad)
            self.checks += 1
            if self.checks % every == 0 and int(self.first_bad) >= 0:
                raise NonFinite(name, int(self.first_bad), "loss or gradient", seen_at=step)
            return True
        if bad.item() == 0.0:  # the one host sync per optimizer step (NaN != 0)
            return True
        what = self._what(losses, name if grads else None)  # the bad step only
        if self.spec.type == "skip":
            self.skipped += 1
            self.skipped_epoch += 1
            if self.skipped > self.spec.max_skips:
                raise NonFinite(name, step, what, skipped=self.skipped)
            return False
        raise NonFinite(name, step, what)

    def _what(self, losses: list[torch.Tensor], grads_of: Optional[str]) -> str:
        """What this rank saw: its loss, its gradients, or (distributed) neither -- another rank's."""
        if losses and not math.isfinite(total(losses).item()):
            return "loss"
        if self.reduce is None:
            return "gradient"
        if grads_of is not None and float(nonfinite_grads(self.params[grads_of])) != 0.0:
            return "gradient"
        return "loss or gradient on another rank"

    def check_weights(self, models: dict[str, torch.nn.Module], slots: dict[str, Any]) -> None:
        """End of an epoch, before anything is saved: when gradients are not checked before each
        update (``stop`` without ``gradients: true``), a non-finite gradient in the epoch's last
        update has not shown in a loss yet -- the weights must be finite for a checkpoint."""
        if self.spec.type != "stop" or self.spec.gradients or self.scaled:
            return
        for name, model in models.items():
            params = [p for p in model.parameters() if p.is_floating_point()]
            if params and not math.isfinite(total(list(torch._foreach_norm(params))).item()):
                slot = slots.get(name) or next(iter(slots.values()))
                raise NonFinite(name, slot.steps, "weights")

    def counted(self, loss: torch.Tensor, size: int) -> torch.Tensor:
        """``loss × size`` for the epoch's loss sum; in skip mode a non-finite batch adds 0 and its
        samples are left out of the mean (on the device: no host sync)."""
        value = loss.float() * size
        if self.spec.type != "skip":
            return value
        bad = ~torch.isfinite(value)
        self.dropped = bad * size if self.dropped is None else self.dropped + bad * size
        return torch.where(bad, torch.zeros_like(value), value)

    def epoch_row(self, total: torch.Tensor, n: int) -> dict[str, Any]:
        """Skip mode: ``nonfinite_skipped`` steps and the train loss over the batches kept; then reset."""
        if self.spec.type != "skip":
            return {}
        kept = n - (int(self.dropped) if self.dropped is not None else 0)
        out = {"nonfinite_skipped": self.skipped_epoch, "train.loss": float(total / max(kept, 1))}
        self.skipped_epoch, self.dropped = 0, None
        return out


def counted(session: Any, loss: torch.Tensor, size: int) -> torch.Tensor:
    guard = session.updater.guard
    return guard.counted(loss, size) if guard is not None else loss.float() * size


class diagnosed:  # noqa: N801 -- used as a context manager, like contextlib's
    """Turn a NonFinite raised inside into the located TrainError of ``diagnose``.

    A class, not a @contextmanager generator: it wraps every training step, and costs a third."""

    __slots__ = ("session", "batch", "epoch", "index")

    def __init__(self, session: Any, batch: Optional[dict], epoch: int, index: int) -> None:
        self.session, self.batch, self.epoch, self.index = session, batch, epoch, index

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        if kind is None:
            return
        if issubclass(kind, NonFinite):
            raise diagnose(self.session, exc, self.batch or {}, self.epoch, self.index) from None
        if out_of_memory(exc):
            raise memory_error(self.session, exc, self.epoch, self.index) from None


def out_of_memory(exc: BaseException) -> bool:
    """An allocation that failed: CUDA's OutOfMemoryError, Python's MemoryError, or the CPU allocator's
    RuntimeError ("DefaultCPUAllocator: can't allocate memory")."""
    if isinstance(exc, (MemoryError, getattr(torch, "OutOfMemoryError", MemoryError))):
        return True
    return isinstance(exc, RuntimeError) and ("can't allocate memory" in str(exc) or "out of memory" in str(exc))


def memory_error(session: Any, exc: BaseException, epoch: int, index: int) -> TrainError:
    """The step ran out of memory although the estimate passed: located at train.batch_size, with the way out."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
    batches = len(session.data.loaders["train"])
    size = session.train.batch_size
    return TrainError(f"out of memory at epoch {epoch}, batch {index + 1} of {batches}: {first}",
                      path=("train", "batch_size"),
                      hint=f"lower train.batch_size (now {size}) and raise train.accumulate to keep the effective batch, "
                           "or train on a device with more memory; netspec summary shows the estimate")


# ---- the diagnosis --------------------------------------------------------------------------------

def diagnose(session: Any, exc: NonFinite, batch: dict, epoch: int, index: int) -> TrainError:
    """A located TrainError naming the step, the loss term and the first non-finite node."""
    batches = len(session.data.loaders["train"])
    head = f"non-finite {exc.what} at epoch {epoch}, step {exc.step} (batch {index + 1} of {batches})"
    if exc.seen_at is not None:
        every = session.train.nonfinite.every
        return TrainError(f"{head}; seen at step {exc.seen_at} (train.nonfinite checks every {every} steps, so the "
                          "weights had moved on and the batch was not investigated)", path=("train", "nonfinite"), hint=HINT)
    if exc.skipped:
        head = (f"more than max_skips ({session.train.nonfinite.max_skips}) optimizer steps skipped for a non-finite "
                f"loss or gradient; the last: {exc.what} at epoch {epoch}, step {exc.step} (batch {index + 1} of {batches})")
    details, path, context = [], ("train", "nonfinite"), None
    fields = [k for k, v in batch.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if fields:
        details.append(f"the batch's data field(s) {', '.join(map(repr, fields))} hold NaN/Inf")
        path = ("data", "source")
    named = lambda m, n: f"{m}.{n}" if len(session.models) > 1 else n  # noqa: E731
    bad_grads = [named(m, n) for m, model in session.models.items()
                 for n, p in model.named_parameters() if p.grad is not None and not bool(torch.isfinite(p.grad).all())]
    bad_weights = [named(m, n) for m, model in session.models.items()
                   for n, p in model.named_parameters() if p.is_floating_point() and not bool(torch.isfinite(p).all())]
    hint = HINT
    if bad_weights:  # an earlier update had non-finite gradients and nothing checked them
        more = f" (and {len(bad_weights) - 1} more)" if len(bad_weights) > 1 else ""
        last = exc.step if exc.what == "weights" else exc.step - 1
        details.append(f"the weights are already non-finite, first in {bad_weights[0]!r}{more}: an update had "
                       f"non-finite gradients (the last update was step {last})")
        hint = ("set `train.nonfinite: {type: stop, gradients: true}` to stop before such an update and name the "
                "gradient; " + HINT)
    node, terms = _probe(session, batch)
    for i in terms:
        binding = session.plan.losses[i]
        where = _fmt(binding.path) if len(binding.path) > 1 else "the task's default loss"
        details.append(f"the loss term {binding.spec.type} ({where}) is not finite")
        path = binding.path
    if node is not None:
        details.append(f"the first node with a non-finite output is {node.name!r} ({node.layer.tag})")
        path, context = node.path, node.context
    elif not fields:
        details.append("every node's output was finite" + ("" if terms else " and every loss term too"))
    if exc.what == "gradient" and bad_grads:
        more = f" (and {len(bad_grads) - 1} more)" if len(bad_grads) > 1 else ""
        details.append(f"non-finite gradient first in {bad_grads[0]!r}" + more)
    return TrainError(f"{head}: {'; '.join(details)}", path=path, context=context, hint=hint)


def _fmt(path: tuple) -> str:
    from ..errors import format_path

    return format_path(path)


class _Probe:
    """An updater that only runs the forward: no backward, no step."""

    def __init__(self, updater: Any) -> None:
        self.updater = updater

    def autocast(self):
        return self.updater.autocast()

    def update(self, name: Any, loss: torch.Tensor) -> bool:
        return False


def _probe(session: Any, batch: dict) -> tuple[Any, list[int]]:
    """(the first node with a non-finite output, indices of non-finite loss terms), from running
    the batch again through the program with forward hooks on every node module."""
    first: list[Any] = []
    handles = []

    def hook_for(node: Any):
        def hook(module: Any, inputs: Any, output: Any) -> None:
            if not first and not _finite(output):
                first.append(node)
        return hook

    for name, graph in session.checked.graphs.items():
        model = session.models.get(name)
        for node in graph.nodes if model is not None else ():
            if node.share:
                continue
            module = model.get_submodule(node.name)
            handles.append(module.register_forward_hook(hook_for(node)))
            if getattr(node.layer, "activation", None) is not None:  # `activation:` runs after the module
                handles.append(module.get_submodule("activation").register_forward_hook(hook_for(node)))
    terms: list[int] = []
    program = session.program
    try:
        program.train_step(batch, _Probe(session.updater))
        terms_of = program.loss_terms()  # a program with loss terms of its own (supervised): which one is not finite
        if terms_of:
            with torch.no_grad():
                outs = program.outputs(batch)
                for i, (_, names, target, fn) in enumerate(terms_of):
                    if not _finite(fn(tuple(outs[n] for n in names), batch[target])):
                        terms.append(i)
    except Exception:  # noqa: BLE001 - the diagnosis is best effort; the stop itself stands
        pass
    finally:
        for h in handles:
            h.remove()
    return (first[0] if first else None), terms


def _finite(value: Any) -> bool:
    if isinstance(value, torch.Tensor):
        return not value.is_floating_point() or bool(torch.isfinite(value).all())
    if isinstance(value, (tuple, list)):
        return all(_finite(v) for v in value)
    return True
