"""One decoding step of a language model as a module: the part of generation that exports to ONNX.

``NextTokenStep(model)`` maps (B, T) int64 token ids to (B, V) log-probabilities of the next token
(the last position's logits, log-softmaxed). The decoding loop (greedy, beam, sampling) stays in
Python (``netspec.generate.decode``) and calls the step, in PyTorch or in onnxruntime alike.
``context`` keeps only the last that many tokens (models with a fixed position table or a
trained window).
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn


class NextTokenStep(nn.Module):
    def __init__(self, model: nn.Module, context: Optional[int] = None, output_index: int = 0) -> None:
        super().__init__()
        self.model, self.context, self.output_index = model, context, output_index

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if self.context is not None and tokens.shape[1] > self.context:
            tokens = tokens[:, -self.context:]
        out = self.model(tokens)
        logits = out[self.output_index] if isinstance(out, tuple) else out
        return torch.log_softmax(logits[:, -1].float(), dim=-1)
