"""TensorBoard event files through torch.utils.tensorboard's SummaryWriter (needs ``tensorboard``).

Tags: a metrics row's ``<split>.<metric>`` is logged as ``<metric>/<split>`` (so train and val of
one metric share a TensorBoard section: ``loss/train``, ``loss/val``, ``accuracy/val``), other
numbers under their own name (``lr``, ``epoch_time_s``, ``samples_per_s``); the step is the epoch.
With ``histograms: true``: ``weights/<param>`` at the end of every epoch and ``gradients/<param>``
from each epoch's first batch. With ``graph: true`` (default) the model graph, traced once with
zero inputs of the spec's input shapes. The resolved spec is logged as text (``spec``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .base import missing, scalar_items

SPLITS = ("train", "val", "test")


def tag(key: str) -> str:
    split, _, name = key.partition(".")
    return f"{name}/{split}" if name and split in SPLITS else key


class TensorBoardTracker:
    def __init__(self, session, log_dir: Path, options) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise missing("tensorboard", "tensorboard", "tensorboard") from None
        self.session, self.options = session, options
        self.model = session.models[next(iter(session.models))]
        self.writer = SummaryWriter(log_dir=str(log_dir))
        self.grads: dict[str, Any] = {}
        self.capture = False
        self.hooks: list = []
        if options.histograms:
            self._hook_gradients()
        if options.graph:
            self._add_graph()

    def _hook_gradients(self) -> None:
        for name, p in self.model.named_parameters():
            if p.requires_grad:
                self.hooks.append(p.register_post_accumulate_grad_hook(self._grad_hook(name)))

    def _grad_hook(self, name: str):
        def hook(p) -> None:
            if self.capture and p.grad is not None and name not in self.grads:
                self.grads[name] = p.grad.detach().float().cpu().clone()
        return hook

    def _add_graph(self) -> None:
        import torch

        from ..graph import concrete_inputs

        graph = next(iter(self.session.checked.graphs.values()))
        example = tuple(torch.zeros((1, *t.shape), dtype=getattr(torch, t.dtype), device=self.session.device)
                        for t in concrete_inputs(graph).values())
        was_training = self.model.training
        self.model.eval()
        try:
            self.writer.add_graph(self.model, example if len(example) > 1 else example[0])
        except Exception as exc:  # noqa: BLE001 - tracing fails for some models; the scalars still matter
            self.writer.add_text("graph", f"the model graph could not be traced: {type(exc).__name__}: {exc}")
        finally:
            self.model.train(was_training)

    def start(self, total_epochs: int, batches_per_epoch: int, first_epoch: int) -> None:
        self.writer.add_text("spec", "```yaml\n" + _spec_text(self.session) + "\n```", global_step=first_epoch - 1)
        self.capture = True

    def batch(self, epoch: int, index: int, samples: int) -> None:
        self.capture = False

    def epoch(self, row: dict[str, Any]) -> None:
        step = int(row["epoch"])
        for key, value in scalar_items(row):
            self.writer.add_scalar(tag(key), value, step)
        if self.options.histograms:
            for name, p in self.model.named_parameters():
                self.writer.add_histogram(f"weights/{name}", p.detach().float().cpu(), step)
            for name, g in self.grads.items():
                self.writer.add_histogram(f"gradients/{name}", g, step)
        self.grads = {}
        self.capture = True
        self.writer.flush()

    def finish(self, result, run_dir: Path) -> None:
        self.writer.flush()

    def close(self, failed: bool = False) -> None:
        for h in self.hooks:
            h.remove()
        self.hooks = []
        self.writer.close()


def _spec_text(session) -> str:
    from ..render import resolved_text

    return resolved_text(session.checked)
