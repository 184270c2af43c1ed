"""Decoding and text generation: the strategies (``decode``), language-model generation from a
checkpoint (``text``) and the one-step module that exports to ONNX (``step``)."""

from .decode import beam_search, decode, filter_logits, greedy, sample

__all__ = ["beam_search", "decode", "filter_logits", "greedy", "sample"]
