"""Weights without pickles: one safetensors file per model, the resolved spec beside it.

``save_weights(model, path, metadata)`` writes the state dict (tied parameters once; safetensors
records which names share a tensor and restores them) with netspec's metadata in the header, and
reads it back to check every tensor round-trips exactly. ``load_weights(model, path)`` loads such
a file into a model compiled from the spec (``netspec.compiler.compile_model``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import torch
from torch import nn

from ..errors import ExportError


def save_weights(model: nn.Module, path: str | Path, metadata: Optional[dict[str, str]] = None) -> Path:
    from safetensors.torch import save_model

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_model(model, str(path), metadata=dict(metadata or {}))
    _check_roundtrip(model, path)
    return path


def load_weights(model: nn.Module, path: str | Path) -> nn.Module:
    from safetensors.torch import load_model

    try:
        missing, unexpected = load_model(model, str(path), strict=False)
    except Exception as exc:  # noqa: BLE001 - shape mismatches, corrupt files
        raise ExportError(f"cannot load {Path(path).name}: {str(exc).strip().splitlines()[0][:300]}") from None
    if missing or unexpected:
        raise ExportError(f"{Path(path).name} does not fit the model: missing {missing[:5]}, unexpected {unexpected[:5]}",
                          hint="compile the model from the spec written beside the weights")
    return model


def read_header(path: str | Path) -> dict[str, str]:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as fh:
        return dict(fh.metadata() or {})


def _check_roundtrip(model: nn.Module, path: Path) -> None:
    import copy

    fresh = copy.deepcopy(model)
    with torch.no_grad():
        for tensor in fresh.state_dict().values():  # views of the parameters and buffers
            tensor.zero_()
    load_weights(fresh, path)
    want, got = model.state_dict(), fresh.state_dict()
    bad = [k for k in want if not torch.equal(want[k], got[k])]
    if bad:
        raise ExportError(f"{path.name} does not read back the same weights: {bad[:5]}")
