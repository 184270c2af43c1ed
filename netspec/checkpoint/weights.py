"""Trained weights into the models of a spec, for the commands that use a checkpoint beside a spec
(evaluate, predict, export, generate, sample): the checkpoint must hold the *same* models.

``load_state_dict`` only notices a difference in parameter names or shapes. A spec edited since
training (another activation, a dropout rate, a different wiring between layers of the same
sizes) loads without complaint and computes something else. So the checkpoint's own resolved spec
is compared with the given one, model by model and node by node (``netspec.diff``), and any
difference is an error naming the nodes, located at the checkpoint file.
"""

from __future__ import annotations

from typing import Any, Iterable

import torch

from ..errors import Location, TrainError
from .rebuild import checked_from_checkpoint


def check_same_models(checked: Any, ckpt: dict[str, Any], names: Iterable[str] | None = None) -> None:
    """Raise unless every model in ``names`` (default: all of the spec's) is the checkpoint's."""
    from ..diff import diff_graphs

    where = Location.whole(ckpt.get("loaded_from", "<checkpoint>"))
    hint = "give the spec the checkpoint was trained with (the run directory's spec.yaml is its resolved copy)"
    try:
        trained = checked_from_checkpoint(ckpt).graphs
    except Exception:  # noqa: BLE001 - a checkpoint of an older netspec whose spec no longer validates
        trained = None
    if trained is None:
        return
    for name in names if names is not None else list(checked.graphs):
        if name not in trained:
            raise TrainError(f"the checkpoint has no model {name!r} (it holds {', '.join(trained)})",
                             location=where, hint=hint)
        delta = diff_graphs(trained[name], checked.graphs[name])
        problems = _describe(delta)
        if problems:
            label = "the model" if name == "model" else f"model {name!r}"
            raise TrainError(f"{label} differs from the one the checkpoint was trained with: {'; '.join(problems[:3])}"
                             + (f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""),
                             location=where, hint=hint)


def _describe(delta: dict[str, Any]) -> list[str]:
    out = [f"node {n['name']!r} ({n['type']}) added" for n in delta["added"]]
    out += [f"node {n['name']!r} ({n['type']}) removed" for n in delta["removed"]]
    for node in delta["changed"]:
        for key, (before, after) in node["changes"].items():
            if key == "flops":  # follows the example sizes of symbolic dims, which a command may set
                continue
            out.append(f"{node['name']}.{key.removeprefix('param.')}: {before} -> {after}")
    out += [f"input {k}: {a} -> {b}" for k, (a, b) in delta["inputs"].items()]
    return out


def load_weights(model: torch.nn.Module, ckpt: dict[str, Any], name: str = "model") -> None:
    """``model.load_state_dict`` of the checkpoint's model ``name``, as a located error when it does not fit."""
    where = Location.whole(ckpt.get("loaded_from", "<checkpoint>"))
    state = (ckpt.get("models") or {}).get(name)
    if state is None:
        raise TrainError(f"the checkpoint has no weights for model {name!r}", location=where,
                         hint="give the spec the checkpoint was trained with")
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise TrainError(f"the checkpoint does not fit model {name!r}: {str(exc).splitlines()[0]}", location=where,
                         hint="give the spec the checkpoint was trained with") from None
