"""Checkpoints: one self-describing file per save, written atomically, read with weights_only.

A checkpoint is a dict of tensors and plain types only::

    format: "netspec.checkpoint", format_version: 1, netspec_version, torch_version,
    spec_text        the resolved spec (canonical YAML): the model can be rebuilt from it alone
    spec_file        where the spec was read from (informational; data paths are relative to it)
    models           {model name: state_dict}
    optimizers       {model name: optimizer state_dict}
    schedules        {model name: Schedule.state_dict()}
    scaler           GradScaler state_dict or None
    epoch, step      completed epochs and optimizer steps (of the first model)
    steps            {model name: optimizer steps}
    program          the program's own state (e.g. a GAN's step counter, a pair sampler's RNG) or None
    rng              python / numpy / torch (/ cuda) / data-order generator states
    preprocess       fitted preprocessing (scalers, categories, vocabulary, class labels)
    metrics          the metrics row of the last completed epoch
    tracker          early stopping / best-metric state {monitor, mode, best, best_epoch, bad_epochs}
    sharded          (FSDP runs only) the folder beside the file that holds models and optimizers
                     (torch.distributed.checkpoint); ``load_checkpoint`` reads it into full state dicts

``load_checkpoint(path)`` checks the format; ``rebuild_models(ckpt)`` compiles the model(s) from
``spec_text`` and loads their weights (no spec file or data needed).
"""

from __future__ import annotations

import os
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

from ..errors import TrainError

FORMAT, FORMAT_VERSION = "netspec.checkpoint", 1


def netspec_version() -> str:
    try:
        return metadata.version("netspec")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0+unknown"


def new_checkpoint(spec_text: str, spec_file: str, **fields: Any) -> dict[str, Any]:
    """A checkpoint dict with the header filled in."""
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "netspec_version": netspec_version(),
            "torch_version": str(torch.__version__), "spec_text": spec_text, "spec_file": spec_file, **fields}


def save_checkpoint(ckpt: dict[str, Any], path: str | Path) -> Path:
    """Write atomically: a temp file in the same folder, fsync, rename over the target."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(ckpt, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:  # pragma: no cover - some filesystems refuse directory fsync
        pass
    return path


def load_checkpoint(path: str | Path, map_location: Any = "cpu") -> dict[str, Any]:
    """Read a checkpoint (tensors and plain types only) and check its format."""
    path = Path(path)
    if path.is_dir():
        path = path / "last.pt"
    if not path.is_file():
        raise TrainError(f"checkpoint not found: {path}", hint="give a .pt file or a run directory holding last.pt")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - corrupt files raise many kinds
        raise TrainError(f"cannot read checkpoint {path}: {str(exc).strip().splitlines()[0]}") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise TrainError(f"{path} is not a netspec checkpoint")
    if ckpt.get("format_version", 0) > FORMAT_VERSION:
        raise TrainError(f"{path} has checkpoint format {ckpt['format_version']}; this netspec reads up to {FORMAT_VERSION}",
                         hint="upgrade netspec")
    if ckpt.get("sharded"):  # an FSDP run's: the tensors are in a torch.distributed.checkpoint folder beside it
        from .distributed.sharded import fill_sharded

        fill_sharded(ckpt, path)
    return ckpt


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
