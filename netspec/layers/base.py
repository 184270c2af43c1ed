"""The Layer contract. A layer type is one pydantic class that carries everything about it.

* ``tag`` (the YAML name) and ``family``; parameters are pydantic fields named as in PyTorch, and
  ``in_*`` sizes never appear (they are inferred);
* the docstring's first line states the shape contract, e.g. ``(C, H, W) -> (out_channels, H', W')``;
* ``output_shape`` (or ``output_shapes`` for several outputs) in plain Python, raising a ShapeError
  with a hint on bad input;
* ``num_params`` and ``flops`` without allocating anything;
* ``build`` -> ``torch.nn.Module`` (the only method that may import torch);
* ``examples``: parameter sets with input shapes that drive the registry-wide tests, and
  ``bad_inputs``: input shapes the layer must reject with a ShapeError;
* ``zero_gradient``: True for a layer whose gradient is zero almost everywhere (a step).

Shapes are per sample (the batch is implicit). ``dim``-like parameters follow PyTorch: the batch
is dim 0, and negative dims count from the end.
"""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Sequence

from pydantic import BaseModel

from ..strict import STRICT
from .shapes import Shape

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn

FLOAT, LONG, BOOL = "float32", "int64", "bool"


@dataclass(frozen=True)
class Example:
    """A parameter set and the per-sample input shapes (and dtypes) to try it on."""

    params: dict[str, Any] = field(default_factory=dict)
    inputs: tuple[Shape, ...] = ((8,),)
    dtypes: tuple[str, ...] | None = None
    #: per input, the [low, high) range its int64 values are drawn from in tests (None: the default);
    #: e.g. lengths must be at least 1 and at most the sequence length
    int_ranges: tuple[tuple[int, int] | None, ...] | None = None


class Layer(BaseModel):
    model_config = STRICT

    tag: ClassVar[str]
    family: ClassVar[str]
    #: how many inputs the layer takes: (min, max); max None = any number
    arity: ClassVar[tuple[int, int | None]] = (1, 1)
    #: dtypes each input may have; None accepts any
    input_dtypes: ClassVar[tuple[str, ...] | None] = (FLOAT,)
    #: names of the outputs, for layers with several (``node.name`` or ``node.0`` address them)
    output_names: ClassVar[tuple[str, ...]] = ()
    examples: ClassVar[tuple[Example, ...]] = ()
    bad_inputs: ClassVar[tuple[tuple[Shape, ...], ...]] = ()
    #: the layer's gradient is zero almost everywhere (a step): parameters before it cannot learn by
    #: gradient descent (``netspec validate`` warns; netspec.checks.gradients)
    zero_gradient: ClassVar[bool] = False

    # Methods that take the per-sample input shapes are declared here with ``*inputs: Any``: each
    # layer names its own inputs (``def build(self, x: Shape)``, ``(self, q, k, v)``), as many as its
    # ``arity`` allows, and a fixed signature would be an incompatible override for a type checker.
    # Every input is a Shape.

    # ---- shape contract -------------------------------------------------------------------
    def output_shapes(self, *inputs: Any) -> list[Shape]:
        """Per-sample output shapes; single-output layers implement ``output_shape`` instead."""
        return [self.output_shape(*inputs)]  # type: ignore[attr-defined]

    def output_dtype(self, *dtypes: str) -> str:
        return FLOAT

    def input_dtypes_at(self, index: int) -> tuple[str, ...] | None:
        """Dtypes allowed for input ``index`` (override for layers whose inputs differ, e.g. a
        recurrent layer's int64 lengths); None accepts any."""
        return self.input_dtypes

    def input_dtypes_for(self, count: int) -> list[tuple[str, ...] | None]:
        """Dtypes allowed for each of ``count`` inputs. Override when an input's role depends on
        how many inputs there are (an optional mask that comes last); the default asks
        ``input_dtypes_at`` for each index."""
        return [self.input_dtypes_at(i) for i in range(count)]

    # ---- costs (no allocation) ------------------------------------------------------------
    def num_params(self, *inputs: Any) -> int:
        return 0

    def param_shapes(self, *inputs: Any) -> dict[str, tuple[int, ...]] | None:
        """Shape of each parameter by its name in the built module (as in ``named_parameters``),
        in plain Python; None when the layer does not declare them (its parameters cannot then be
        tied to another node's with ``tie:``)."""
        return None

    def flops(self, inputs: Sequence[Shape], outputs: Sequence[Shape]) -> int:
        """Forward FLOPs per sample; a multiply-add counts as 2."""
        return 0

    # ---- building ---------------------------------------------------------------------------
    def build(self, *inputs: Any) -> "nn.Module":  # pragma: no cover - every layer overrides
        raise TypeError(f"layer {self.tag!r} does not define build()")

    # ---- documentation ----------------------------------------------------------------------
    @classmethod
    def contract(cls) -> str:
        """The shape contract: the first line of the docstring."""
        return (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""

    @classmethod
    def description(cls) -> str:
        lines = (cls.__doc__ or "").strip().splitlines()[1:]
        return "\n".join(line.strip() for line in lines).strip()

    def params_dict(self) -> dict[str, Any]:
        """Parameters as plain data, defaults included (the canonical, fully resolved form)."""
        return self.model_dump(mode="json")
