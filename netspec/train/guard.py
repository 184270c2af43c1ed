"""``train.nonfinite``: NaN/Inf in a loss or gradient stops the run before the bad update, or
skips the step (see ``netspec.spec.reliability`` for the user-facing rules).

``Guard`` sits in the ``Updater``: ``watch(names, loss)`` notes whether each loss handed to it is
finite, and ``allow(name, slot)`` — called before the optimizer steps — adds the gradients' check
(one fused ``_foreach_norm``; gradients are left to the GradScaler under fp16, which skips such
steps itself, so there ``skip`` is the scaler's and ``stop`` checks the loss). A bad step raises
``NonFinite`` (stop) or returns False (skip).

The loop catches ``NonFinite`` with the batch in hand and ``diagnose`` turns it into a located
TrainError: the weights are still those that produced the bad values, so the batch is run again
with forward hooks on every node, to name the first node whose output is not finite, and (for
programs with loss terms) each term is evaluated on its own to name the one that is not.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator, Optional

import torch

from ..errors import TrainError

HINT = ("lower the learning rate, add gradient clipping (train.grad_clip), check the data for NaN/Inf, or set "
        "`train.nonfinite: skip` to drop such steps; the last checkpoint written (last.pt) is kept as it was")


class NonFinite(Exception):
    """Raised inside the updater; the loop turns it into a TrainError with ``diagnose``."""

    def __init__(self, model: str, step: int, what: str, seen_at: Optional[int] = None, skipped: int = 0) -> None:
        super().__init__(f"non-finite {what} of model {model!r} at step {step}")
        self.model, self.step, self.what, self.seen_at, self.skipped = model, step, what, seen_at, skipped


def grads_finite(model: torch.nn.Module) -> Optional[torch.Tensor]:
    """A device bool: every gradient of ``model`` is finite (None when there are none)."""
    grads = [p.grad.coalesce().values() if p.grad.is_sparse else p.grad for p in model.parameters() if p.grad is not None]
    if not grads:
        return None
    norms = torch._foreach_norm(grads, ord=float("inf"))
    return torch.stack([x.float() for x in norms]).isfinite().all()


class Guard:
    def __init__(self, spec: Any, scaled: bool) -> None:
        self.spec, self.scaled = spec, scaled
        self.losses_ok: dict[str, torch.Tensor] = {}
        self.skipped = self.skipped_epoch = 0
        self.checks = 0
        self.first_bad: Optional[torch.Tensor] = None  # stop every N > 1: first bad step, on the device
        self.dropped: Optional[torch.Tensor] = None  # skip: samples of this epoch with a non-finite loss

    def watch(self, names: tuple[str, ...], loss: torch.Tensor) -> None:
        ok = torch.isfinite(loss.detach()).all()
        for name in names:
            self.losses_ok[name] = ok if name not in self.losses_ok else self.losses_ok[name] & ok

    def allow(self, name: str, slot: Any) -> bool:
        """Whether slot ``name`` may take its optimizer step now."""
        loss_ok = self.losses_ok.pop(name, None)
        if self.scaled and self.spec.type == "skip":
            return True  # fp16: the GradScaler already skips steps with non-finite gradients (and rescales)
        grad_ok = None if self.scaled else grads_finite(slot.model)
        parts = [t for t in (loss_ok, grad_ok) if t is not None]
        if not parts:
            return True
        ok = parts[0] if len(parts) == 1 else parts[0] & parts[1]
        step = slot.steps + 1
        every = getattr(self.spec, "every", 1)
        if every > 1:  # record on the device, look every N steps (one host sync per N)
            self.first_bad = torch.full_like(ok, -1, dtype=torch.long) if self.first_bad is None else self.first_bad
            self.first_bad = torch.where((self.first_bad < 0) & ~ok, step, self.first_bad)
            self.checks += 1
            if self.checks % every == 0 and int(self.first_bad) >= 0:
                raise NonFinite(name, int(self.first_bad), "loss or gradient", seen_at=step)
            return True
        if bool(ok):  # the one host sync per optimizer step
            return True
        what = "loss" if loss_ok is not None and not bool(loss_ok) else "gradient"
        if self.spec.type == "skip":
            self.skipped += 1
            self.skipped_epoch += 1
            if self.skipped > self.spec.max_skips:
                raise NonFinite(name, step, what, skipped=self.skipped)
            return False
        raise NonFinite(name, step, what)

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


@contextmanager
def diagnosed(session: Any, batch: Optional[dict], epoch: int, index: int) -> Iterator[None]:
    """Turn a NonFinite raised inside into the located TrainError of ``diagnose``."""
    try:
        yield
    except NonFinite as exc:
        raise diagnose(session, exc, batch or {}, epoch, index) from None


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
    bad_grads = [f"{m}.{n}" if len(session.models) > 1 else n for m, model in session.models.items()
                 for n, p in model.named_parameters() if p.grad is not None and not bool(torch.isfinite(p.grad).all())]
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
        details.append(f"non-finite gradient first in {bad_grads[0]!r}" + (f" (and {len(bad_grads) - 1} more)" if len(bad_grads) > 1 else ""))
    return TrainError(f"{head}: {'; '.join(details)}", path=path, context=context, hint=HINT)


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
        if hasattr(program, "terms") and hasattr(program, "outputs"):
            with torch.no_grad():
                outs = program.outputs(batch)
                for i, (_, names, target, fn) in enumerate(program.terms):
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
