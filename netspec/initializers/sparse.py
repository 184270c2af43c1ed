"""The ``sparse`` initializer."""

from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field

from ..strict import PositiveFloat, Probability
from .base import INITIALIZERS, Initializer

if TYPE_CHECKING:  # pragma: no cover
    import torch


@INITIALIZERS.register
class Sparse(Initializer):
    """Martens (2010): in each column, a share `sparsity` of the rows is zero and the rest is N(0, std²);
    2-D weights only (dense layers)."""
    EXAMPLE: ClassVar[str] = "{type: sparse, sparsity: 0.9, std: 0.01}"
    type: Literal["sparse"]
    sparsity: Probability = Field(description="Share of the elements of each column set to zero.")
    std: PositiveFloat = Field(0.01, description="Standard deviation of the non-zero elements.")

    def fill_(self, tensor: "torch.Tensor") -> None:
        import torch.nn.init as I

        I.sparse_(tensor, self.sparsity, self.std)
