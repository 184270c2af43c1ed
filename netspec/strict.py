"""Shared pydantic building blocks: strict models and ``type:``-tagged choices.

A leaf module (pydantic only), so that the spec and every component registry below it can share it.
"""

from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

# strict: a quoted "10" is not an integer and 1 is not a boolean; unknown keys are errors; numbers are
# finite (.nan and .inf are errors: no spec value means them, and they would reach training unchecked).
STRICT = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True, allow_inf_nan=False)


class StrictModel(BaseModel):
    model_config = STRICT


def _type_shorthand(value: Any) -> Any:
    """``adam`` is shorthand for ``{type: adam}``."""
    return {"type": value} if isinstance(value, str) else value


class _BareNameSchema:
    """JSON Schema of a tagged union: the bare type name is accepted too (for editors)."""

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: Any) -> dict[str, Any]:
        schema = handler(core_schema)
        target = handler.resolve_ref_schema(schema) if "$ref" in schema else schema
        tags = sorted((target.get("discriminator") or {}).get("mapping", {}))
        description = schema.pop("description", None) or target.get("description")
        out: dict[str, Any] = {"anyOf": [{"type": "string", "enum": tags}, schema]} if tags else schema
        if description:
            out["description"] = description
        return out


def tagged(union: Any, description: str | None = None) -> Any:
    """A discriminated union on ``type`` that also accepts the bare type name."""
    return Annotated[union, Field(discriminator="type", description=description), BeforeValidator(_type_shorthand),
                     _BareNameSchema()]


PositiveInt = Annotated[int, Field(gt=0)]
NonNegInt = Annotated[int, Field(ge=0)]
PositiveFloat = Annotated[float, Field(gt=0)]
#: the largest float32: an optimizer hyperparameter past it overflows inside torch.optim's float32 math
FLOAT32_MAX = 3.4028234663852886e38
#: a learning rate: positive, and representable in float32 (1e100 passed validation, then failed in the optimizer)
LearningRate = Annotated[float, Field(gt=0, le=FLOAT32_MAX)]
Probability = Annotated[float, Field(ge=0, lt=1)]
#: the largest seed: NumPy's and scikit-learn's generators take 0 .. 2**32 - 1 (torch takes more)
MAX_SEED = 2**32 - 1
#: a random seed every generator netspec seeds accepts (-1 passed validation, then failed in scikit-learn)
Seed = Annotated[int, Field(ge=0, le=MAX_SEED)]

T = TypeVar("T")
Pair = Annotated[list[T], Field(min_length=2, max_length=2)]  # YAML has no tuples: a list of two
FieldName = Annotated[str, Field(pattern=r"^[A-Za-z_]\w*$")]  # a data field's name (an identifier)
