"""The interface of a training program's torch side: ``TrainProgram`` (an abstract base) and the one
object its constructor takes, ``ProgramContext``.

A program is what one training step does with the spec's model(s), loss(es) and optimizer(s); the
loop, data, precision, clipping, schedules, checkpoints and early stopping are shared and live
elsewhere. Required (abstract): ``train_step`` and ``eval_step``. Optional capabilities are methods
here with documented defaults, which a program overrides when it has them; nothing is looked up
with ``hasattr``. A program's spec class names its runtime class by module path
(``runtime = "netspec.train.programs.gan:Gan"``), and ``runtime_class`` imports it when a run starts.
"""

from __future__ import annotations

import abc
import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar, Optional

import torch

from ...compiler import GraphModule

Batch = dict[str, torch.Tensor]
#: one loss term of a program: (weight, the outputs it reads, the target field, the loss function)
LossTerm = tuple[float, tuple[str, ...], str, Callable[..., torch.Tensor]]


@dataclass
class ProgramContext:
    """What a program's constructor gets: the compiled models (and their forward callables, wrapped
    for several processes or torch.compile'd when asked), the plan, the data and the runtime settings."""
    models: dict[str, GraphModule]
    forward: dict[str, Any]
    plan: Any  # the TrainPlan
    inputs: dict[str, str]  # data-view model input -> data field
    device: torch.device
    train: Any  # the TrainSpec (epochs and device resolved)
    data: Any = None  # the DataBundle (arrays, loaders, preprocessing)
    class_weights: Optional[torch.Tensor] = None
    base: Optional[Path] = None  # the spec file's directory: where relative paths a program reads start
    resuming: bool = False  # a checkpoint will put every model's weights back after construction


class TrainProgram(abc.ABC):
    """One training program. Subclasses set ``models`` (every trainable model, by spec model name: the
    session gives each its optimizer) and ``metrics`` ("eval", optionally "train": objects with
    ``update``/``compute``) in ``__init__(ctx)``."""

    name: ClassVar[str]
    models: dict[str, torch.nn.Module]
    metrics: dict[str, Any]

    @abc.abstractmethod
    def __init__(self, ctx: ProgramContext) -> None:
        """Build the program from the session's context (its one constructor form)."""

    @abc.abstractmethod
    def train_step(self, batch: Batch, updater: Any) -> torch.Tensor:
        """One batch: compute the loss(es), call ``updater.update(model name(s), loss)`` per model it steps,
        return the detached loss the loop logs."""

    @abc.abstractmethod
    def eval_step(self, batch: Batch, autocast: Any = None) -> torch.Tensor:
        """The loss of one batch without gradients; updates the "eval" metrics."""

    # ---- optional capabilities (defaults stated) ---------------------------------------------------
    def outputs(self, batch: Batch) -> dict[str, torch.Tensor]:
        """Model outputs by name (prediction). Default: the program has none to show."""
        raise NotImplementedError(f"the {self.name} program has no outputs to predict")

    @staticmethod
    def data_graph(graphs: dict[str, Any], plan: Any) -> Any:
        """The graph whose inputs the data feeds. Default: the spec's only model."""
        return next(iter(graphs.values()))

    @classmethod
    def rule_optimizer(cls, train: Any) -> Optional[Any]:
        """The optimizer spec of a program that changes weights by a rule of its own (never stepped; it
        holds the logged ``lr``). Default: None (the spec's optimizer, else the default one)."""
        return None

    def compile(self, compile_fn: Callable[[Any], Any]) -> None:  # noqa: B027  (an optional hook)
        """With ``train.compile``: compile what the program runs beyond the models (e.g. forward + loss
        in one graph). Default: nothing beyond the models' forward callables."""
        return None

    def loss_terms(self) -> list[LossTerm]:
        """The loss terms the non-finite diagnosis re-evaluates one by one. Default: none."""
        return []

    def end_epoch(self, epoch: int, run_dir: Optional[Path]) -> None:  # noqa: B027  (an optional hook)
        """After each epoch (``run_dir`` None on ranks that write nothing). Default: nothing."""
        return None

    def state_dict(self) -> Optional[dict[str, Any]]:
        """State saved in checkpoints beyond weights and optimizers (counters, RNGs). Default: None."""
        return None

    def load_state_dict(self, state: dict[str, Any]) -> None:  # noqa: B027  (an optional hook)
        """Put back what ``state_dict`` saved. Default: nothing to put back."""
        return None


def runtime_class(program: Any) -> type[TrainProgram]:
    """The TrainProgram class a ``train.program`` spec names (``runtime = "module:Class"``)."""
    module, _, attr = type(program).runtime.partition(":")
    cls = getattr(importlib.import_module(module), attr)
    if not (isinstance(cls, type) and issubclass(cls, TrainProgram)):
        raise TypeError(f"{type(program).runtime} (the {program.type} program's runtime) is not a TrainProgram")
    return cls
