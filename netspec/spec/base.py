"""Shared pydantic building blocks: strict models and ``type:``-tagged choices."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

# strict: a quoted "10" is not an integer and 1 is not a boolean; unknown keys are errors.
STRICT = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)


class StrictModel(BaseModel):
    model_config = STRICT


def _type_shorthand(value: Any) -> Any:
    """``adam`` is shorthand for ``{type: adam}``."""
    return {"type": value} if isinstance(value, str) else value


def tagged(union: Any, description: str | None = None) -> Any:
    """A discriminated union on ``type`` that also accepts the bare type name."""
    return Annotated[union, Field(discriminator="type", description=description), BeforeValidator(_type_shorthand)]


PositiveInt = Annotated[int, Field(gt=0)]
NonNegInt = Annotated[int, Field(ge=0)]
PositiveFloat = Annotated[float, Field(gt=0)]
Probability = Annotated[float, Field(ge=0, lt=1)]
