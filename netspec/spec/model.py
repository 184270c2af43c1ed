"""The model part of a spec: inputs, blocks, models, constraints.

Layer items stay raw data here (a bare name, or a mapping with one layer-type key plus node keys);
``netspec.graph`` validates them against the layer registry after block expansion, so that
``${arg}`` references inside blocks can be substituted first.
"""

import re
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import Field, field_validator

from .base import PositiveInt, StrictModel
from .initializers import InitMap

NAME_RE = re.compile(r"^[A-Za-z_]\w*(\.\w+)*$")
SYMBOL_RE = re.compile(r"^[A-Za-z_]\w*$")
DTYPES = {"float32": "float32", "float": "float32", "int64": "int64", "long": "int64", "bool": "bool"}

#: node keys that may sit beside the layer-type key in a layer item
NODE_KEYS = ("name", "inputs", "repeat", "init", "share", "tie", "description")

Dim = Union[PositiveInt, Annotated[str, Field(pattern=SYMBOL_RE.pattern)], None]
LayerItem = Union[str, dict[str, Any]]


class InputSpec(StrictModel):
    """One named model input: its per-sample shape (batch implicit) and dtype."""

    shape: list[Dim] = Field(description="Per-sample shape, e.g. [1, 28, 28]; a name (seq) or null for a variable size.")
    dtype: Literal["float32", "float", "int64", "long", "bool"] = Field(
        "float32", description="float32 for features and images, int64 (long) for token ids.")
    description: Optional[str] = None

    @property
    def torch_dtype(self) -> str:
        return DTYPES[self.dtype]


class ArgSpec(StrictModel):
    """A typed block argument with an optional default."""

    type: Literal["int", "float", "bool", "str", "list", "layer", "any"] = "any"
    default: Any = None
    required: bool = True
    description: Optional[str] = None


ARG_TYPES = ("int", "float", "bool", "str", "list", "layer", "any")


def _arg_from_shorthand(value: Any) -> Any:
    """``out: int`` declares a required int; ``stride: 1`` declares an int defaulting to 1."""
    if isinstance(value, str) and value in ARG_TYPES:
        return {"type": value}
    if isinstance(value, dict) and "type" in value:
        out = dict(value)
        out.setdefault("required", "default" not in value)
        return out
    kind = ("bool" if isinstance(value, bool) else "int" if isinstance(value, int) else
            "float" if isinstance(value, float) else "str" if isinstance(value, str) else
            "list" if isinstance(value, list) else "any")
    return {"type": kind, "default": value, "required": False}


class BlockDef(StrictModel):
    """A reusable sub-graph with typed arguments, used like a layer (``- basic: {out: 64}``)."""

    description: Optional[str] = None
    args: dict[str, ArgSpec] = Field(default={}, description="Arguments: `name: int` (required) or `name: default`.")
    inputs: list[str] = Field(default_factory=lambda: ["input"], description="Names of the block's inputs.")
    layers: list[LayerItem] = Field(min_length=1, description="The block's layers; `${arg}` refers to an argument.")
    outputs: Optional[list[str]] = Field(None, min_length=1, description="Names of the nodes the block returns (default: the last).")

    @field_validator("args", mode="before", json_schema_input_type=dict[str, Union[ArgSpec, str, int, float, bool, list[Any], None]])
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: _arg_from_shorthand(v) for k, v in value.items()}
        return value


class ModelDef(StrictModel):
    """One model: its inputs (or the spec's), initialization defaults, layers and outputs."""

    description: Optional[str] = None
    inputs: Optional[dict[str, InputSpec]] = Field(None, description="This model's inputs (default: the spec's `inputs`).")
    init: dict[str, InitMap] = Field(default={}, description="Initializers per layer type: {conv2d: {weight: kaiming_normal}}.")
    layers: list[LayerItem] = Field(min_length=1, description="Layers in order; each feeds the next unless it names `inputs`.")
    outputs: Optional[list[str]] = Field(None, min_length=1, description="Nodes the model returns, by name (default: the last layer).")


class Constraints(StrictModel):
    """Contract checks that `netspec validate` enforces (CI guards a model's size and outputs)."""

    max_params: Optional[PositiveInt] = Field(
        None, description="Fail if the model has more parameters; replaces netspec's ceiling of 2^36 (68.7 billion).")
    max_flops: Optional[PositiveInt] = Field(None, description="Fail if a forward pass per sample needs more FLOPs.")
    max_memory_mb: Optional[PositiveInt] = Field(
        None, description="Fail if training is estimated to need more memory (MiB: weights, gradients, optimizer "
                          "state, activations at train.batch_size); replaces netspec's 2 TiB ceiling.")
    output_shapes: dict[str, list[Union[int, str]]] = Field(
        default={}, description="Expected per-sample output shapes by output name.")
