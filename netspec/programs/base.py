"""The training-program registry and the interface every program's spec class declares.

A program is one class (a ``ProgramSpec``) carrying its pydantic schema (``train.program``), its
docstring (the documentation), an ``EXAMPLE``, its planning rules and its capabilities:

* ``plan(planner)`` resolves the run's ``TrainPlan`` from the spec and the graphs, appending
  located errors and warnings (``planner`` is the planning layer's services: ``Planner``);
* ``mode``: the task mode the program trains when it fixes one (language_model, seq2seq,
  segmentation), None when ``train.task`` decides;
* ``distributed``: whether every training forward pass goes through the wrapped model, so the
  program can run on several processes (``check_distributed`` adds settings it refuses there);
* ``vocab_logits``: its output logits run over a vocabulary (``train.performance.pad_vocab``);
* ``prediction``: what ``netspec predict`` writes (the task's labels and probabilities, embeddings or
  the unit's own decisions);
* ``runtime``: where its torch step lives, ``"module:Class"`` (a ``netspec.train.programs.base.
  TrainProgram``). A string, so that ``netspec validate`` never imports torch and no table maps
  tags to classes: the trainer imports the module when a run starts.

Register with ``@PROGRAMS.register`` and one import line in ``netspec/programs/__init__.py``.
Torch-free, below the spec: it imports strict, registry, errors, diagnostics and pydantic only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal, Optional, Protocol

from ..registry import Registry
from ..strict import StrictModel

if TYPE_CHECKING:
    from ..errors import SpecError
    from .plan import TrainPlan

PROGRAMS: Registry[type[ProgramSpec]] = Registry("program")


class Planner(Protocol):
    """What the planning layer (``netspec.checks.plan``) hands a program's ``plan``."""
    spec: Any
    graphs: dict[str, Any]
    errors: list[SpecError]
    warnings: list[SpecError]

    def supervised(self, task: Optional[str] = None) -> Optional["TrainPlan"]:
        """The supervised program's plan (one model, losses against targets); ``task`` replaces ``train.task``."""

    def common(self, data_graph: Any, mode: str, extra: list[str], data_inputs: Optional[list[str]] = None) -> "TrainPlan":
        """A plan without supervised losses: what is logged (``extra`` per split), monitor checks, bindings, warnings."""

    def bindings(self, graph: Any) -> None:
        """``data.inputs`` must name inputs of ``graph``."""

    def metric(self, name: str) -> Any:
        """A metric spec from its shorthand name (``f1_macro``)."""

    def fitting_metrics(self, mode: str) -> set[str]:
        """The metric types that fit a task mode."""

    def loss(self, data: dict[str, Any]) -> Any:
        """A loss spec validated from ``{type: ..., ...}``."""


class ProgramSpec(StrictModel):
    """Base of every ``train.program`` class (not registered itself)."""

    EXAMPLE: ClassVar[str]
    #: "module:Class" of the torch implementation (a TrainProgram)
    runtime: ClassVar[str]
    #: the task mode the program trains (None: train.task decides)
    mode: ClassVar[Optional[str]] = None
    #: every training forward pass goes through the wrapped model: it can run on several processes
    distributed: ClassVar[bool] = False
    #: the output logits run over a vocabulary (pad_vocab pads the head producing them)
    vocab_logits: ClassVar[bool] = False
    #: what ``netspec predict`` writes from the model's output: the task's predictions (labels and
    #: probabilities, values), ``embedding`` (the output's values as columns) or ``decision`` (the
    #: output is the decision or the class scores itself, never passed through a sigmoid/softmax)
    prediction: ClassVar[Literal["task", "embedding", "decision"]] = "task"

    def plan(self, planner: Planner) -> Optional["TrainPlan"]:
        """The training plan (default: the supervised one, with this program's ``mode``)."""
        return planner.supervised()

    def check_distributed(self, errors: list[SpecError]) -> None:
        """Settings of a ``distributed`` program that cannot run on several processes (default: none)."""
