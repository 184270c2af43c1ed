"""A checkpoint back into models: the Checked spec from its resolved spec text, and every model
compiled with its saved weights (no spec file or data needed)."""

from __future__ import annotations

from typing import Any

import torch


def checked_from_checkpoint(ckpt: dict[str, Any]):
    """The Checked spec (document + graphs) rebuilt from the checkpoint's resolved spec text."""
    from ..check import Checked
    from ..graph import build_graphs
    from ..source import load_text
    from ..spec.load import LoadedSpec, validate

    data, smap = load_text(ckpt["spec_text"], "<checkpoint spec>")
    spec = validate(data, smap)
    graphs = build_graphs(spec, data, [], source=smap)
    return Checked(LoadedSpec(spec, data, smap, ckpt.get("spec_file", "<checkpoint spec>")), graphs, [])


def rebuild_models(ckpt: dict[str, Any], device: str | torch.device = "cpu") -> dict[str, torch.nn.Module]:
    """Compile every model of the checkpoint's spec and load its saved weights (eval mode)."""
    from ..compiler import compile_model

    checked = checked_from_checkpoint(ckpt)
    models = {}
    for name, graph in checked.graphs.items():
        model = compile_model(graph)
        model.load_state_dict(ckpt["models"][name])
        models[name] = model.to(device).eval()
    return models
