"""scaled_dot_product_attention with a boolean mask, below opset 23.

A query that may attend to no key at all (every key masked: causal attention over left padding,
a padded query row) gets zeros from PyTorch. The exporter's translation below opset 23 fills
masked scores with the dtype's lowest finite value instead of -inf, so the softmax of such a row
is uniform and onnxruntime returns the mean of the values (measured on torch 2.13 /
onnxscript 0.7: 0.14 off on a transformer layer with a padding mask). The translation here keeps
the exporter's own graph and multiplies its output by "the row has a valid key", which is 1
everywhere else. From opset 23 the ``Attention`` operator already gives zeros there.
"""

from __future__ import annotations

import torch


def _sdpa_translation(query, key, value, attn_mask=None, dropout_p: float = 0.0, is_causal: bool = False,
                      scale=None, enable_gqa: bool = False):
    import onnx_ir as ir
    from onnxscript import opset18 as op
    from onnxscript.function_libs.torch_lib.ops.nn import aten_scaled_dot_product_attention

    out = aten_scaled_dot_product_attention(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa)
    if attn_mask is not None and attn_mask.dtype == ir.DataType.BOOL:
        any_key = op.ReduceMax(op.Cast(attn_mask, to=ir.DataType.FLOAT), op.Constant(value_ints=[-1]), keepdims=1)
        out = op.Mul(out, op.CastLike(any_key, out))
    return out


#: for torch.onnx.export(custom_translation_table=...) below opset 23
TRANSLATIONS = {torch.ops.aten.scaled_dot_product_attention.default: _sdpa_translation}
