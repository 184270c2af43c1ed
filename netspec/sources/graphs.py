"""The ``graphs`` source."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, model_validator

from ..strict import PositiveFloat, PositiveInt, Seed
from .base import SOURCES, Source

if TYPE_CHECKING:
    from pathlib import Path

    from ..data.table import Table
    from ..errors import SpecPath


@SOURCES.register
class Graphs(Source):
    """Generated graphs for node classification, one graph per sample: a stochastic block model (each node in
    one of num_classes communities, an edge with probability p_in inside a community and p_out across), node
    features that are noisy indicators of the community (so neighbours help), the community as each node's label."""
    FIELDS: ClassVar[str] = ("`features` (nodes, num_features) float32; `adjacency` (nodes, nodes) float32, the normalized "
                             "D^-1/2 (A + I) D^-1/2; `target` (nodes,) int64, the community of each node")
    EXAMPLE: ClassVar[str] = "{type: graphs, num_samples: 200, num_nodes: 64, num_classes: 4}"
    type: Literal["graphs"]
    num_samples: PositiveInt = Field(200, description="Graphs (samples).")
    num_nodes: PositiveInt = Field(64, ge=2, description="Nodes per graph.")
    num_classes: PositiveInt = Field(4, ge=2, description="Communities, which are the classes.")
    num_features: PositiveInt = Field(16, description="Features per node: the first num_classes indicate the community.")
    p_in: float = Field(0.2, gt=0, le=1, description="Edge probability between two nodes of one community.")
    p_out: float = Field(0.02, ge=0, le=1, description="Edge probability between nodes of different communities.")
    signal: PositiveFloat = Field(1.0, description="Value of the community's indicator feature (before noise).")
    noise: float = Field(1.0, ge=0, description="Standard deviation of Gaussian noise on every feature.")
    seed: Seed = Field(0, description="Seed of the generator: the same seed gives the same data.")

    @model_validator(mode="after")
    def _sizes(self) -> Graphs:
        if self.num_features < self.num_classes:
            raise ValueError(f"num_features ({self.num_features}) must be at least num_classes ({self.num_classes}): "
                             "one indicator feature per community")
        return self

    def read(self, base: Path, classify: bool, path: SpecPath, faults: Any | None = None,
             expect: dict[str, Any] | None = None) -> Table:
        from ..data.synthetic import graphs_table

        return graphs_table(self)
