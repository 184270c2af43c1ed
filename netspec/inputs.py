"""Example inputs for a graph: random tensors with the right per-sample shapes and dtypes, for
tests, exports and benchmarks.

Symbolic dims take their example sizes (the spec's ``dims``, overridable). Integer inputs that
feed an embedding are drawn below its vocabulary size; other integer inputs (sequence lengths)
get the full length of the longest symbolic dim; boolean inputs (masks) are all False.
"""

from __future__ import annotations

from typing import Optional

import torch

from .graph import Graph, concrete_inputs


def random_inputs(graph: Graph, batch: int = 2, dims: Optional[dict[str, int]] = None,
                  generator: Optional[torch.Generator] = None) -> dict[str, torch.Tensor]:
    types = concrete_inputs(graph, dims)
    longest = max([v for v in {**graph.dims, **(dims or {})}.values()] + [1])
    out = {}
    for name, t in types.items():
        shape = (batch,) + tuple(int(d) for d in t.shape)
        if t.dtype == "float32":
            out[name] = torch.randn(shape, generator=generator)
        elif t.dtype == "bool":
            out[name] = torch.zeros(shape, dtype=torch.bool)
        else:
            vocab = _vocabulary(graph, name)
            if vocab is not None:
                out[name] = torch.randint(0, vocab, shape, generator=generator)
            else:
                out[name] = torch.full(shape, _length(graph, longest), dtype=torch.int64)
    return out


def _vocabulary(graph: Graph, name: str) -> Optional[int]:
    sizes = [n.layer.num_embeddings for n in graph.nodes  # type: ignore[attr-defined]
             if hasattr(n.layer, "num_embeddings") and ("input", name) in n.inputs]
    return min(sizes) if sizes else None


def _length(graph: Graph, longest: int) -> int:
    symbolic = [d for t in graph.inputs.values() for d in t.shape if isinstance(d, str)]
    return max([graph.dims.get(d, longest) for d in symbolic] + [1]) if symbolic else 1
