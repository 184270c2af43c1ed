"""The spec's pydantic building blocks, which live in the leaf ``netspec.strict`` (re-exported here)."""

from ..strict import STRICT, NonNegInt, PositiveFloat, PositiveInt, Probability, Seed, StrictModel, tagged

__all__ = ["STRICT", "NonNegInt", "PositiveFloat", "PositiveInt", "Probability", "Seed", "StrictModel", "tagged"]
