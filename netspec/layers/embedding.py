"""Lookup tables from integer ids to vectors."""

from typing import TYPE_CHECKING, Optional

from pydantic import Field

from ..errors import ShapeError
from ..strict import PositiveInt
from .base import LONG, Example, Layer
from .registry import register
from .shapes import Shape

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn


@register
class Embedding(Layer):
    """(*) int64 → (*, embedding_dim): looks up a learned vector for each token id."""

    tag = "embedding"
    family = "embedding"
    input_dtypes = (LONG,)
    examples = (
        Example({"num_embeddings": 100, "embedding_dim": 16}, (("seq",),), (LONG,)),
        Example({"num_embeddings": 10, "embedding_dim": 4, "padding_idx": 0}, ((7,),), (LONG,)),
    )

    num_embeddings: PositiveInt = Field(description="Vocabulary size.")
    embedding_dim: PositiveInt = Field(description="Size of each vector.")
    padding_idx: Optional[int] = Field(None, ge=0, description="Id whose vector stays zero and gets no gradient.")

    def output_shape(self, x: Shape) -> Shape:
        if self.padding_idx is not None and self.padding_idx >= self.num_embeddings:
            raise ShapeError(f"padding_idx {self.padding_idx} is not below num_embeddings {self.num_embeddings}")
        return x + (self.embedding_dim,)

    def num_params(self, x: Shape) -> int:
        return self.num_embeddings * self.embedding_dim

    def param_shapes(self, x: Shape) -> dict[str, tuple[int, ...]]:
        return {"weight": (self.num_embeddings, self.embedding_dim)}

    def build(self, x: Shape) -> "nn.Module":
        from torch import nn

        return nn.Embedding(self.num_embeddings, self.embedding_dim, padding_idx=self.padding_idx)
