"""One decoding step of a trained language model as a verified ONNX file, and a step function that
runs it in onnxruntime, so the same Python decoding loop (greedy, beam, sampling) drives either.

``export_decoding_step(spec, checkpoint, path)`` rebuilds the model from the checkpoint, wraps it
as ``NextTokenStep`` ((batch, seq) int64 tokens -> (batch, vocab) next-token log-probabilities;
both axes dynamic), exports it with ``netspec.export.export_module`` and verifies it against
PyTorch with onnxruntime at prefix lengths that differ from the example's. The loop, the context
window and the vocabulary stay outside the graph; the vocabulary and the context length are
stored in the file's metadata so a runtime can encode prompts and crop windows the same way.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import torch

from ..check import check
from ..errors import NetspecError
from .step import NextTokenStep
from .text import context_length, language_model_io, load_language_model, tokenizer_for

VERIFY_LENGTHS = ((1, 1), (3, 17), (2, 40))  # (batch, seq) pairs other than the example's


def export_decoding_step(spec_path: str | Path, checkpoint: str | Path, path: str | Path, overrides: Iterable[str] = (),
                         opset: int = 18, atol: float = 1e-4) -> dict[str, Any]:
    """Export and verify; returns {path, opset, exporter, report, context, vocab_size, input}. Raises
    ExportError when the step does not export, VerificationError when onnxruntime disagrees."""
    from ..checkpoint import load_checkpoint
    from ..export import VerificationError, export_module, verify
    from ..train.session import located

    checked = check(spec_path, list(overrides))
    try:
        name, _ = language_model_io(checked)
        ckpt = load_checkpoint(checkpoint)
        tok = tokenizer_for(checked, ckpt)
        step = NextTokenStep(load_language_model(checked, ckpt)).eval()
        vocab = len(tok.vocab)
        example = torch.randint(0, vocab, (2, 8), generator=torch.Generator().manual_seed(0))
        context = context_length(checked)
        meta = {"netspec.model": checked.spec.name or "model", "netspec.role": "decoding_step",
                "netspec.vocab": json.dumps(tok.vocab), "netspec.tokenize": tok.how,
                "netspec.context": str(context or "")}
        if getattr(tok, "json", None):  # a subword tokenizer: its JSON, for tokenizers.Tokenizer.from_str
            meta["netspec.tokenizer"] = tok.json
        done = export_module(step, [example], ["tokens"], ["log_probs"], path, opset=opset,
                             dynamic_axes={"tokens": {0: "batch", 1: "seq"}}, metadata=meta,
                             dynamic_outputs={"log_probs": {0: "batch"}})
        g = torch.Generator().manual_seed(1)
        lengths = [(b, min(s, context) if context else s) for b, s in VERIFY_LENGTHS]
        report = verify(path, step, [[torch.randint(0, vocab, (b, s), generator=g)] for b, s in lengths], atol=atol)
        if not report.ok:
            raise VerificationError(f"the exported decoding step differs from PyTorch: {report.worst()}", [], path=("model",))
    except NetspecError as exc:
        raise located(exc, checked) from None
    return {"path": str(done.path), "opset": done.opset, "exporter": done.exporter, "report": report,
            "context": context, "vocab_size": vocab, "input": name}


def onnx_step(path: str | Path, context: int | None = None):
    """A ``step`` for ``netspec.generate.decode``: runs the exported file in onnxruntime."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def step(prefix: torch.Tensor) -> torch.Tensor:
        if context is not None and prefix.shape[1] > context:
            prefix = prefix[:, -context:]
        (out,) = session.run(None, {"tokens": np.ascontiguousarray(prefix.cpu().numpy(), dtype=np.int64)})
        return torch.from_numpy(out)

    return step
