"""Registry-wide: every layer example's FLOPs rule against torch's own count.

netspec counts forward FLOPs per sample, a multiply-add as 2 (``Layer.flops``; a node adds its
fused ``activation``'s, as graph/infer.py does). ``torch.utils.flop_counter.FlopCounterMode``
counts the same way but only matrix products and convolutions (mm, addmm, bmm, baddbmm,
convolution, the attention kernels); everything elementwise (activations, norms, pooling, adds,
interpolation) counts 0 there. So for each example

    rule(example) == FlopCounterMode(forward at batch 2) / 2 + UNCOUNTED[tag](example)

where ``UNCOUNTED`` below states, per tag, the elementwise FLOPs netspec adds that torch does not
see. A layer without an entry fails the test: a new layer must state its convention here.

torch is run so that it counts what the rule describes: attention through the math kernel (the
fused CPU flash kernel is not counted), recurrent layers with oneDNN off (its fused LSTM kernel
is not counted), and int64 lengths at their largest value (the rule counts full-length samples,
an upper bound: packed sequences skip padded steps).
"""

from __future__ import annotations

import math
from typing import Callable

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from layer_cases import BATCH, CASE_IDS, CASES, case, concrete, forward_of, inputs_of, module_of
from netspec.layers import Layer, all_layers

Rule = Callable[[Layer, list, list], int]


def numel(shape) -> int:
    return math.prod(shape)


def none(layer, ins, outs) -> int:
    """Nothing elementwise: everything counted is a matrix product or convolution (or nothing)."""
    return 0


def per_output(k: int) -> Rule:
    """k FLOPs per output element."""
    return lambda layer, ins, outs: k * numel(outs[0])


def per_input(k: int) -> Rule:
    """k FLOPs per element of the first input."""
    return lambda layer, ins, outs: k * numel(ins[0])


def window(layer, ins, outs) -> int:
    """A windowed pool reads its kernel window once per output element."""
    kernel = layer.kernel_size if isinstance(layer.kernel_size, (list, tuple)) else [layer.kernel_size] * (len(ins[0]) - 1)
    return numel(outs[0]) * math.prod(kernel)


def merge(layer, ins, outs) -> int:
    """n inputs combine with n - 1 operations per output element."""
    return (len(ins) - 1) * numel(outs[0])


def local_response(layer, ins, outs) -> int:
    """A sum of squares over `size` channels and a power per element."""
    return (2 * layer.size + 4) * numel(ins[0])


def positional(layer, ins, outs) -> int:
    """The add, and the √D scale when scale_input."""
    return (2 if layer.scale_input else 1) * numel(ins[0])


def upsample(layer, ins, outs) -> int:
    """Interpolation: a multiply-add per source point per output element (nearest: none)."""
    points = {"nearest": 0, "nearest-exact": 0, "linear": 2, "bilinear": 4, "bicubic": 16, "trilinear": 8}[layer.mode]
    return 2 * points * numel(outs[0])


def rbf(layer, ins, outs) -> int:
    """Squared distances to every center: a subtract, square and add per input feature per center."""
    return 3 * numel(ins[0]) * layer.out_features


def transformer(layer, ins, outs) -> int:
    """Each layer norm: 5 FLOPs per element (the residual adds and the activation are not counted)."""
    return 5 * numel(ins[0]) * layer.norms


ACTIVATIONS = ("elu", "gelu", "hardswish", "heaviside", "leaky_relu", "log_softmax", "mish", "prelu", "relu", "relu6",
               "selu", "sigmoid", "silu", "softmax", "softplus", "step", "swish", "tanh")
FREE = ("alpha_dropout", "chunk", "concat", "dropout", "dropout1d", "dropout2d", "dropout3d", "embedding", "flatten",
        "gaussian_noise", "identity", "permute", "pixel_shuffle", "pixel_unshuffle", "reshape", "select", "slice", "split",
        "squeeze", "transpose", "unflatten", "unsqueeze")
MATMUL = ("additive_attention", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
          "graph_conv", "gru", "linear", "lstm", "luong_attention", "matmul", "multihead_attention", "rnn",
          "scaled_dot_product_attention", "shortcut")

#: tag -> the FLOPs netspec counts that FlopCounterMode does not
UNCOUNTED: dict[str, Rule] = {
    **{tag: none for tag in FREE + MATMUL},
    **{tag: per_output(1) for tag in ACTIVATIONS},  # one per element (softmax: per element of its output)
    **{f"batch_norm{n}d": per_input(2) for n in (1, 2, 3)},  # scale and shift with the running statistics
    **{f"instance_norm{n}d": per_input(2) for n in (1, 2, 3)},
    "group_norm": per_input(5), "layer_norm": per_input(5),  # mean, variance, normalize, scale, shift
    "local_response_norm": local_response,
    **{f"{op}_pool{n}d": window for op in ("avg", "max") for n in (1, 2, 3)},
    **{f"adaptive_{op}_pool{n}d": per_input(1) for op in ("avg", "max") for n in (1, 2, 3)},
    "global_avg_pool": per_input(1), "global_max_pool": per_input(1),
    "max": per_input(1), "mean": per_input(1), "sum": per_input(1),  # reductions read each element once
    "add": merge, "multiply": merge,
    "positional_encoding": positional,
    "upsample": upsample,
    "rbf": rbf,
    "reparameterize": per_input(3),  # mu + exp(logvar / 2) * eps
    "transformer_encoder_layer": transformer, "transformer_decoder_layer": transformer,
}


def test_every_layer_states_its_uncounted_flops():
    assert set(UNCOUNTED) == set(all_layers())


def rule_flops(layer: Layer, ins: list, outs: list) -> tuple[int, int]:
    """(netspec's count for the node, the part FlopCounterMode does not see)."""
    flops, uncounted = layer.flops(ins, outs), UNCOUNTED[layer.tag](layer, ins, outs)
    act = getattr(layer, "activation", None)
    if act is not None:
        flops += act.flops(outs, outs)
        uncounted += UNCOUNTED[act.tag](act, outs, outs)
    return flops, uncounted


def torch_flops(layer: Layer, module: torch.nn.Module, xs: list[torch.Tensor]) -> float:
    with (torch.no_grad(), sdpa_kernel(SDPBackend.MATH), torch.backends.mkldnn.flags(enabled=False),
          FlopCounterMode(display=False) as counter):
        forward_of(layer, module, xs)
    return counter.get_total_flops() / BATCH


@pytest.mark.filterwarnings("ignore:TF32 acceleration")
@pytest.mark.parametrize("tag,i", CASES, ids=CASE_IDS)
def test_flops_rule_matches_flop_counter(tag, i):
    layer, ex, dtypes = case(tag, i)
    ins = [concrete(s) for s in ex.inputs]
    outs = layer.output_shapes(*ins)
    flops, uncounted = rule_flops(layer, ins, outs)
    assert isinstance(flops, int) and flops >= 0
    module = module_of(layer, ex).eval()
    counted = torch_flops(layer, module, inputs_of(ex, dtypes, longest=True))
    assert flops == counted + uncounted, f"{tag}: rule {flops} = {flops - uncounted} counted + {uncounted}, torch counts {counted}"
