"""What an exported file says about itself, so a deployer needs nothing else.

Keys (ONNX ``metadata_props`` and the safetensors header; all values are strings, JSON where
structured):

=========================  ========================================================================
netspec.version            the netspec version that wrote the file
netspec.spec_sha256        SHA-256 of the resolved spec (canonical YAML, ``netspec.spec``)
netspec.spec               the resolved spec itself (blocks expanded; rebuilds the model)
netspec.model              which model of the spec (``model``, or e.g. ``generator``)
netspec.inputs / outputs   {name: {"shape": per-sample shape (symbols for dynamic axes), "dtype"}}
netspec.dynamic_axes       {input or output name: {axis: name}} (axis 0 is the batch)
netspec.weights            ``trained`` (from a checkpoint: epoch, step) or ``initialized`` (seed)
netspec.classes            class labels in logit order (from the checkpoint's data), when known
netspec.preprocess         the fitted preprocessing (JSON): ``features``/``target`` as
                           ``x * scale + offset`` per column, ``image`` resize and per-channel
                           ``(x - mean) / std``, ``max_len`` of padded sequences, one-hot
                           ``categories``; with the spec's preprocessing options under ``options``
netspec.vocab              token strings in id order, when the data has a vocabulary
netspec.tokenizer          the Hugging Face tokenizer's JSON (subword text sources), as it is:
                           ``tokenizers.Tokenizer.from_str(value)`` encodes and decodes like the run
=========================  ========================================================================
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Optional

from ..graph import Graph

PREFIX = "netspec."


def spec_hash(spec_text: str) -> str:
    return hashlib.sha256(spec_text.encode("utf-8")).hexdigest()


def build_metadata(spec_text: str, model_name: str, graph: Graph, dynamic_axes: dict[str, dict[int, str]],
                   ckpt: Optional[dict[str, Any]] = None, preprocess_options: Optional[dict] = None,
                   seed: Optional[int] = None) -> dict[str, str]:
    from ..distribution import version as netspec_version

    meta = {
        "version": netspec_version(),
        "spec_sha256": spec_hash(spec_text),
        "spec": spec_text,
        "model": model_name,
        "inputs": _dump({n: _io(t) for n, t in graph.inputs.items()}),
        "outputs": _dump({n: _io(t) for n, t in graph.output_types().items()}),
        "dynamic_axes": _dump(dynamic_axes),
    }
    if ckpt is None:
        meta["weights"] = _dump({"state": "initialized", "seed": seed})
    else:
        meta["weights"] = _dump({"state": "trained", "epoch": ckpt.get("epoch"), "step": ckpt.get("step")})
        state = dict(ckpt.get("preprocess") or {})
        if state.get("classes"):
            meta["classes"] = _dump([str(c) for c in state["classes"]])
        if state.get("vocab"):
            meta["vocab"] = _dump(list(state["vocab"]))
        if state.get("tokenizer"):
            meta["tokenizer"] = str(state["tokenizer"])
        columns = feature_columns(state)
        if columns:  # what each position of the `features` input is, so a deployer matches columns by name
            meta["feature_columns"] = _dump(columns)
        fitted = {k: v for k, v in state.items() if k not in ("classes", "vocab", "feature_names", "tokenizer") and v}
        if fitted or preprocess_options:
            meta["preprocess"] = _dump({**fitted, **({"options": preprocess_options} if preprocess_options else {})})
    return {PREFIX + k: v for k, v in meta.items()}


def feature_columns(state: dict[str, Any]) -> list[str]:
    """The name of each position of the ``features`` vector: the numeric columns in training order,
    then ``column=category`` for each one-hot encoded categorical column."""
    names = list(state.get("feature_names") or [])
    for col, cats in (state.get("categories") or {}).items():
        names += [f"{col}={c}" for c in cats]
    return names


def _io(t) -> dict[str, Any]:
    return {"shape": list(t.shape), "dtype": t.dtype}


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


def parse(meta: dict[str, str]) -> dict[str, Any]:
    """The netspec keys of a metadata dict, JSON values decoded (``spec`` stays text)."""
    out: dict[str, Any] = {}
    for key, value in meta.items():
        if key.startswith(PREFIX):
            name = key[len(PREFIX):]
            out[name] = value if name in ("version", "spec_sha256", "spec", "model", "tokenizer") else json.loads(value)
    return out
