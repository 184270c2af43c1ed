"""The loss registry and the interface every loss class declares.

A loss is one pydantic class (``type: Literal["<tag>"]``, its parameters) registered with
``@LOSSES.register``. Besides its schema it carries its documentation (the docstring, and
``contract``: the shapes it reads), ``EXAMPLE`` (a YAML flow mapping that drives the docs and the
registry-wide tests), its builder and the rules the planner applies to it:

- ``fits``: the task modes it fits (``plan_training`` rejects it elsewhere);
- ``expects_logits``: it applies the softmax/sigmoid itself (a model ending in one gets a warning);
- ``arity``: how many model outputs it reads by default (2 for pairs, 3 for triplets);
- ``reads_probabilities``: the output it reads holds probabilities (metrics then skip the sigmoid);
- ``pair_labels``: the (dissimilar, similar) target values of a pair loss.

``build(ctx)`` returns ``fn(outputs, target) -> scalar`` (``outputs``: the tuple of model outputs the
loss is bound to); torch is imported inside it, so the schema stays torch-free.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Optional, Union

from pydantic import Field

from ..registry import Registry
from ..strict import StrictModel

#: tag -> loss class; ``LOSSES.union()`` is the spec's ``train.loss`` item type
LOSSES: Registry[type["Loss"]] = Registry("loss")

#: ``fn(outputs, target) -> scalar tensor``
LossFn = Callable[[tuple[Any, ...], Any], Any]

#: every task mode the planner knows
MODES = frozenset({"multiclass", "binary", "multilabel", "regression", "reconstruction", "language_model", "seq2seq",
                   "segmentation"})


@dataclass
class LossContext:
    """What a builder needs besides the loss spec: the task mode, the class weights (the loss's own, else
    the data's; a float tensor or None), and the label of positions no loss counts (padding of
    per-position targets) for losses that have no ``ignore_index`` of their own."""
    mode: str
    weight: Any = None
    ignore_index: int = -100

    def flat(self, out: Any, y: Any) -> tuple[Any, Any]:
        """Class logits as rows: (N, L, V) for language models and seq2seq, (N, ..., C) per position for
        multiclass classification (classes on the last axis); other modes as they are."""
        from ..nn.losses import positions

        return positions(out, y) if self.mode in ("language_model", "seq2seq", "multiclass") else (out, y)


class Loss(StrictModel):
    """A loss term: which outputs it reads, which data field holds its target, its weight in the total."""
    output: Union[str, list[str], None] = Field(None, description="Model output(s) the loss reads (default: the only one).")
    target: Optional[str] = Field(None, description="Data field with the target (default: task's: `target`, the input, `next`).")
    weight: float = Field(1.0, ge=0, description="Weight of this loss in the total.")

    EXAMPLE: ClassVar[str] = ""
    contract: ClassVar[str] = ""
    fits: ClassVar[frozenset[str]] = frozenset()
    expects_logits: ClassVar[bool] = False
    arity: ClassVar[int] = 1
    reads_probabilities: ClassVar[bool] = False
    pair_labels: ClassVar[Optional[tuple[float, float]]] = None

    @abstractmethod
    def build(self, ctx: LossContext) -> LossFn:
        """``fn(outputs, target) -> scalar`` for this loss in the context of a task."""


def fitting(mode: str) -> list[str]:
    """The tags of the losses that fit a task mode, sorted (for hints)."""
    return sorted(tag for tag, cls in LOSSES.items() if mode in cls.fits)
