"""Special-purpose layers: radial basis units, graph convolution, the VAE reparameterization."""

from typing import TYPE_CHECKING, Sequence

from pydantic import Field

from ..errors import ShapeError
from ..strict import PositiveInt
from .activation_ref import ActivationRef
from .base import Example, Layer
from .registry import register
from .shapes import Shape, expect_rank, expect_static, fmt_shape, numel

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn


@register
class RBF(Layer):
    """(F,) → (out_features,): Gaussian radial basis units φⱼ(x) = exp(−‖x − cⱼ‖² / (2σⱼ²)); also (L, F) → (L, out_features).

    Each unit learns its centre cⱼ (parameter `centers`, out_features × F) and its width σⱼ
    (parameter `log_sigmas`, stored as log σ so it stays positive; it starts at 0, σ = 1).
    """

    tag = "rbf"
    family = "special"
    examples = (Example({"out_features": 5}, ((3,),)), Example({"out_features": 4}, (("seq", 2),)))
    bad_inputs = (((3, 4, 5),),)

    out_features: PositiveInt = Field(description="Number of radial basis units.")

    def output_shape(self, x: Shape) -> Shape:
        expect_rank(x, (1, 2), "a feature vector (F,) or a sequence of vectors (L, F)")
        expect_static(x[-1], "feature size")
        return x[:-1] + (self.out_features,)

    def param_shapes(self, x: Shape) -> dict[str, tuple[int, ...]]:
        return {"centers": (self.out_features, int(x[-1])), "log_sigmas": (self.out_features,)}

    def num_params(self, x: Shape) -> int:
        return self.out_features * (int(x[-1]) + 1)

    def flops(self, inputs: Sequence[Shape], outputs: Sequence[Shape]) -> int:
        rows = numel(inputs[0][:-1])
        return 3 * int(inputs[0][-1]) * self.out_features * (rows if isinstance(rows, int) else 1)

    def build(self, x: Shape) -> "nn.Module":
        from ..nn.special import RBF as Module

        return Module(int(x[-1]), self.out_features)


@register
class GraphConv(Layer):
    """(N, F), (N, N) → (N, out_features): a graph convolution (Kipf & Welling, 2017), H′ = Â H Wᵀ + b.

    The second input is the normalized adjacency Â = D̃^(−1/2) (A + I) D̃^(−1/2) of the graph (one
    graph per sample; N nodes), computed by the data pipeline.
    """

    tag = "graph_conv"
    family = "graph"
    arity = (2, 2)
    examples = (
        Example({"out_features": 4}, ((5, 3), (5, 5))),
        Example({"out_features": 2, "bias": False, "activation": "relu"}, (("nodes", 6), ("nodes", "nodes"))),
    )
    bad_inputs = (((5, 3), (4, 4)), ((5,), (5, 5)))

    out_features: PositiveInt = Field(description="Output features per node.")
    bias: bool = Field(True, description="Learn an additive bias per output feature.")
    activation: ActivationRef | None = Field(None, description="Activation applied to the output.")

    def output_shape(self, x: Shape, adj: Shape) -> Shape:
        expect_rank(x, 2, "node features (N, F)")
        expect_rank(adj, 2, "a normalized adjacency (N, N)")
        expect_static(x[1], "feature size")
        if adj[0] != adj[1] or adj[0] != x[0]:
            raise ShapeError(f"the adjacency must be (N, N) for N = {x[0]} nodes, got {fmt_shape(adj)}")
        return (x[0], self.out_features)

    def param_shapes(self, x: Shape, adj: Shape) -> dict[str, tuple[int, ...]]:
        out: dict[str, tuple[int, ...]] = {"weight": (self.out_features, int(x[1]))}
        return {**out, "bias": (self.out_features,)} if self.bias else out

    def num_params(self, x: Shape, adj: Shape) -> int:
        n = self.out_features * int(x[1]) + (self.out_features if self.bias else 0)
        return n + (self.activation.num_params(self.output_shape(x, adj)) if self.activation else 0)

    def flops(self, inputs: Sequence[Shape], outputs: Sequence[Shape]) -> int:
        n = inputs[0][0] if isinstance(inputs[0][0], int) else 1
        return 2 * n * int(inputs[0][1]) * self.out_features + 2 * n * n * self.out_features

    def build(self, x: Shape, adj: Shape) -> "nn.Module":
        from ..nn.special import GraphConv as Module

        return Module(int(x[1]), self.out_features, self.bias)


@register
class Reparameterize(Layer):
    """(*), (*) → (*): mu, logvar → mu + exp(logvar / 2) · ε with ε ~ N(0, I) in training, and mu in evaluation (the VAE sampling step)."""

    tag = "reparameterize"
    family = "special"
    arity = (2, 2)
    examples = (Example({}, ((8,), (8,))), Example({}, ((2, 4, 4), (2, 4, 4))))
    bad_inputs = (((8,), (6,)),)

    def output_shape(self, mu: Shape, logvar: Shape) -> Shape:
        if mu != logvar:
            raise ShapeError(f"mu and logvar must have the same shape, got {fmt_shape(mu)} and {fmt_shape(logvar)}",
                             hint="produce both from linear layers with the same out_features (or `chunk` one)")
        return mu

    def flops(self, inputs: Sequence[Shape], outputs: Sequence[Shape]) -> int:
        n = numel(inputs[0])
        return 3 * n if isinstance(n, int) else 0

    def build(self, mu: Shape, logvar: Shape) -> "nn.Module":
        from ..nn.special import Reparameterize as Module

        return Module()
