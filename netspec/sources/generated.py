"""The ``generated`` source."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from ..strict import PositiveInt, Seed
from .base import SOURCES, Source

if TYPE_CHECKING:
    from pathlib import Path

    from ..data.table import Table
    from ..errors import SpecPath


@SOURCES.register
class Generated(Source):
    """Procedurally generated data (seeded), for tests and examples."""
    FIELDS: ClassVar[str] = ('`features` (blobs, moons, linear), `image` (images) or `tokens` and `next` '
                            '(sequence); `target`: a class index (a float for linear)')
    EXAMPLE: ClassVar[str] = "{type: generated, kind: moons, num_samples: 1000, noise: 0.2, seed: 0}"
    type: Literal["generated"]
    kind: Literal["blobs", "moons", "linear", "images", "sequence"] = Field(
        description="blobs: Gaussian clusters (classes); moons: two interleaved half circles; linear: y = Xw + noise; "
                    "images: (C, H, W) class-dependent patterns; sequence: token sequences with a learnable rule.")
    num_samples: PositiveInt = Field(512, description="Number of samples.")
    num_features: PositiveInt = Field(8, description="blobs, linear: features per sample (moons always has 2).")
    num_classes: PositiveInt = Field(3, description="blobs, images, sequence: number of classes (moons always has "
                                                    "2).")
    shape: list[PositiveInt] | None = Field(None, description="images: (C, H, W); sequence: (L,).")
    vocab_size: PositiveInt = Field(16, description="sequence: token ids are 0 … vocab_size - 1.")
    noise: float = Field(0.1, ge=0, description="Standard deviation of the Gaussian noise (blobs: added to a cluster "
                                                "spread of 1).")
    seed: Seed = Field(0, description="Seed of the generator: the same seed gives the same data.")

    def memory_bytes(self) -> int | None:
        """The peak while generating (data/bundled.py): images draw their noise in float64 beside the
        float32 patterns and the float32 result, 16 bytes an element; sequences hold int64 tokens."""
        if self.kind == "images":
            return self.num_samples * 16 * _prod(self.shape or [1, 8, 8])
        if self.kind == "sequence":
            return self.num_samples * 8 * 3 * ((self.shape or [16])[0] + 1)
        return self.num_samples * 8 * 2 * (2 if self.kind == "moons" else self.num_features)

    def read(self, base: Path, classify: bool, path: SpecPath, faults: Any | None = None,
             expect: dict[str, Any] | None = None) -> Table:
        from ..data.bundled import generated_table

        return generated_table(self)


def _prod(values: list[int]) -> int:
    out = 1
    for v in values:
        out *= v
    return out
