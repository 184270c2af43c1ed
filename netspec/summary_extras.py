"""Summary extras in plain Python (no torch): receptive fields, activation memory, training memory.

* ``receptive_fields(graph)``: for each convolution / pooling / transposed-convolution node, the
  receptive field in input pixels per spatial axis (the classic recurrence: r += (k − 1)·d·j,
  j *= s; transposed convolutions divide the jump). Shape-keeping layers pass it through, merges
  take the largest, and anything that mixes all positions (flatten, linear, global pooling) ends it.
* ``activation_bytes(graph)``: bytes of each node's output per sample (symbolic dims at their
  ``dims:`` sizes), what the forward pass keeps for backward in the worst case.
* ``training_memory(graph, batch_size, optimizer, precision)``: an estimate of the memory one
  training step needs: weights + gradients + optimizer state + batch × (inputs + activations).
  It leaves out framework workspaces (cuDNN, allocator caching), so treat it as a lower bound.
"""

from __future__ import annotations

import math
from typing import Any, Optional

from .graph import Graph, Node
from .layers.shapes import tuple_n
from .optimizers import Optimizer, default_optimizer

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8, "int64": 8, "int32": 4, "bool": 1, "uint8": 1}
WINDOWED = ("conv1d", "conv2d", "conv3d", "conv_transpose", "max_pool", "avg_pool")


def windowed(tag: str) -> bool:
    """Convolutions, transposed convolutions and fixed-window pooling (not adaptive/global pooling)."""
    return tag.startswith(WINDOWED)

RF = Optional[tuple[tuple[float, ...], tuple[float, ...]]]  # (size, jump) per spatial axis


def _dim(d: Any, graph: Graph) -> int:
    from .graph.infer import DEFAULT_DIM

    return d if isinstance(d, int) else graph.dims.get(d, DEFAULT_DIM)


def _spatial(shape) -> tuple:
    return tuple(shape[1:])


def _window(node: Node, nd: int) -> Optional[tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]]:
    layer = node.layer
    k = getattr(layer, "kernel_size", None)
    if k is None:
        return None
    s = getattr(layer, "stride", None)
    s = k if s is None else s
    d = getattr(layer, "dilation", 1)
    out = tuple_n(k, nd), tuple_n(s, nd), tuple_n(d, nd)
    return out if all(len(t) == nd for t in out) else None


def _node_rf(node: Node, ins: list[RF]) -> RF:
    if not node.out_types or any(r is None for r in ins) or not ins:
        return None
    out = node.out_types[0].shape
    in_shape = node.in_types[0].shape if node.in_types else ()
    nd = len(ins[0][0])  # type: ignore[index]
    if len(out) != nd + 1:
        return None
    if len(ins) > 1:
        if len({r[1] for r in ins}) != 1:  # type: ignore[index]
            return None
        return tuple(max(r[0][a] for r in ins) for a in range(nd)), ins[0][1]  # type: ignore[index]
    r, j = ins[0]  # type: ignore[misc]
    tag = node.layer.tag
    if windowed(tag):
        win = _window(node, nd)
        if win is None:
            return None
        k, s, d = win
        if tag.startswith("conv_transpose"):  # an output sees ⌈k/s⌉ inputs; the jump divides by s
            grow = tuple((math.ceil(ki / si) - 1) * di * ji for ki, si, di, ji in zip(k, s, d, j))
            return tuple(ri + g for ri, g in zip(r, grow)), tuple(ji / si for ji, si in zip(j, s))
        return tuple(ri + (ki - 1) * di * ji for ri, ki, di, ji in zip(r, k, d, j)), tuple(ji * si for ji, si in zip(j, s))
    sin, sout = _spatial(in_shape), _spatial(out)
    if sin == sout:
        return r, j  # elementwise / per-position layers (norms, activations, dropout, identity shortcut)
    if all(isinstance(a, int) and isinstance(b, int) and b and a % b == 0 for a, b in zip(sin, sout)) and \
            any(a != b for a, b in zip(sin, sout)) and all(b > 1 for b in sout) and tag == "shortcut":
        return r, tuple(ji * (a // b) for ji, a, b in zip(j, sin, sout))  # strided 1×1 projection
    if tag in ("upsample", "pixel_shuffle") and all(isinstance(a, int) and isinstance(b, int) for a, b in zip(sin, sout)):
        return r, tuple(ji * a / b for ji, a, b in zip(j, sin, sout))
    return None


def receptive_fields(graph: Graph) -> dict[str, tuple[float, ...]]:
    """Node name -> receptive field per spatial axis, for windowed (conv/pool) nodes only."""
    values: dict[Any, RF] = {}
    for name, t in graph.inputs.items():
        nd = len(t.shape) - 1
        values[("input", name)] = ((1.0,) * nd, (1.0,) * nd) if nd >= 1 and t.dtype.startswith("float") else None
    out: dict[str, tuple[float, ...]] = {}
    for node in graph.nodes:
        ins = [values.get(v if v[0] == "input" else ("node", v[1])) for v in node.inputs]
        rf = _node_rf(node, ins)
        values[("node", node.name)] = rf if len(node.out_types) == 1 else None
        if rf is not None and windowed(node.layer.tag):
            out[node.name] = tuple(int(x) if float(x).is_integer() else x for x in rf[0])
    return out


def activation_bytes(graph: Graph) -> dict[str, int]:
    """Node name -> bytes of its output(s) per sample."""
    out = {}
    for node in graph.nodes:
        out[node.name] = sum(math.prod(_dim(d, graph) for d in t.shape) * DTYPE_BYTES.get(t.dtype, 4)
                             for t in node.out_types)
    return out


def training_memory(graph: Graph, batch_size: int, optimizer: Optional[Optimizer] = None,
                    precision: str = "fp32") -> dict[str, int]:
    """Estimated bytes of one training step, by part, and the total (``optimizer`` None: the default
    optimizer; its ``state_tensors()`` says how many parameter-sized tensors of state it keeps)."""
    state = (optimizer or default_optimizer()).state_tensors()
    params = graph.params * 4
    acts = sum(activation_bytes(graph).values())
    if precision in ("bf16-mixed", "fp16-mixed"):  # "auto" counts as fp32: the device is not known here
        acts //= 2  # autocast keeps most activations in 16 bits
    inputs = sum(math.prod(_dim(d, graph) for d in t.shape) * DTYPE_BYTES.get(t.dtype, 4) for t in graph.inputs.values())
    parts = {"weights": params, "gradients": params, "optimizer_state": params * state,
             "activations": acts * batch_size, "inputs": inputs * batch_size}
    parts["total"] = sum(parts.values())
    return parts


def human_bytes(n: float) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.2f} {unit}"
    return f"{int(n)} B"
