"""Predictions for new data with a trained checkpoint: CSV, NPZ or an image folder in; CSV or NPZ
out, with class probabilities and labels for classification and values (in the target's original
units) for regression.

The input goes through the checkpoint's saved preprocessing (scalers, categories, vocabulary),
so it must have the same columns / arrays / image format as the training data.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import torch

from ..check import check
from ..data import INPUT_CANDIDATES, DataBundle, check_inputs
from ..data.preprocess import Preprocessor
from ..data.readers import IMAGE_SUFFIXES, read_columns, tabular
from ..data.table import Table
from ..errors import DataError, NetspecError, TrainError
from ..spec import data as ds
from .checkpoint import load_checkpoint
from .session import located, resolve_plan

INPUT = ("--input",)


def read_input(file: Path, source: Any, input_shape: tuple) -> Table:
    if not file.exists():
        raise DataError(f"input not found: {file}", path=INPUT)
    if file.is_dir():
        return _images(file, source, input_shape)
    suffix = file.suffix.lower()
    if suffix == ".csv":
        cfg = source if isinstance(source, ds.Csv) else ds.Csv(type="csv", path=str(file))
        cols = read_columns(cfg, file, INPUT)
        targets = [cfg.target] if isinstance(cfg.target, str) else list(cfg.target or [])
        features = cfg.features or [c for c in cols if c not in targets]  # a target column, if present, is ignored
        spec = cfg.model_copy(update={"target": None, "features": features, "classes": None})
        return tabular(spec, file, classify=False, path=INPUT)
    if suffix in (".npz", ".npy"):
        if suffix == ".npy":
            return Table({"features": np.load(file, allow_pickle=False).astype(np.float32)})
        with np.load(file, allow_pickle=False) as npz:
            fields = {k: npz[k] for k in npz.files}
        if isinstance(source, ds.Arrays):
            fields = {source.rename.get(k, k): v for k, v in fields.items()}
        return Table({k: v.astype(np.float32) if np.issubdtype(v.dtype, np.floating) else v for k, v in fields.items()})
    raise DataError(f"cannot read {file.name}: give a .csv, .npz or .npy file, or a folder of images", path=INPUT)


def _images(folder: Path, source: Any, input_shape: tuple) -> Table:
    from PIL import Image

    channels = source.channels if isinstance(source, ds.ImageFolder) else int(input_shape[0])
    size = source.size if isinstance(source, ds.ImageFolder) else None
    files = sorted(f for f in folder.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataError(f"no images found under {folder}", path=INPUT)
    images = []
    for f in files:
        with Image.open(f) as im:
            im = im.convert("L" if channels == 1 else "RGB")
            if size is not None:
                im = im.resize((size[1], size[0]), Image.BILINEAR)
            arr = np.asarray(im, dtype=np.float32) / 255.0
        images.append(arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1))
    table = Table({"image": np.stack(images)})
    table.feature_names = [str(f.relative_to(folder)) for f in files]
    return table


def predict_file(spec_path: str | Path, checkpoint: str | Path, input_path: str | Path, output_path: str | Path,
                 overrides: Iterable[str] = (), batch_size: int = 256) -> dict[str, Any]:
    checked = check(spec_path, list(overrides))
    try:
        return _predict(checked, load_checkpoint(checkpoint), Path(input_path), Path(output_path), batch_size)
    except NetspecError as exc:
        raise located(exc, checked) from None


def _predict(checked, ckpt: dict, input_path: Path, output_path: Path, batch_size: int) -> dict[str, Any]:
    from ..compiler import compile_model
    spec, graph = checked.spec, checked.graph
    plan = resolve_plan(checked)
    kind = getattr(plan.program, "type", "supervised")
    if kind in ("vae", "gan"):
        raise TrainError(f"netspec predict runs one model; a {kind}'s models are sampled with `netspec sample` or "
                         "exported with `netspec export --model NAME`", path=("train", "program"))
    model = compile_model(graph)
    model.load_state_dict(ckpt["models"]["model"])
    model.eval()
    pre = Preprocessor((spec.data.preprocess if spec.data else ds.Preprocess()))
    pre.load_state_dict(ckpt.get("preprocess") or {})
    source = spec.data.source if spec.data else None
    name = model.input_names[0]
    table = read_input(input_path, source, graph.inputs[name].shape)
    arrays = pre.transform(table)
    inputs = {n: (spec.data.inputs.get(n) if spec.data else None) or (n if n in arrays else
              next((c for c in INPUT_CANDIDATES if c in arrays), n)) for n in model.input_names}
    check_inputs(DataBundle({"input": arrays}, pre, inputs), graph)
    with torch.no_grad():
        chunks = [model(*[torch.as_tensor(arrays[inputs[n]][s: s + batch_size]) for n in model.input_names])
                  for s in range(0, len(table), batch_size)]
    out = torch.cat([c[0] if isinstance(c, tuple) else c for c in chunks]).float()
    result = _format(plan, out, pre, ckpt)
    _write(output_path, result)
    return {"output": str(output_path), "rows": len(table), "columns": list(result)}


def _format(plan, out: torch.Tensor, pre: Preprocessor, ckpt: dict) -> dict[str, np.ndarray]:
    if getattr(plan.program, "type", None) == "contrastive":  # the first embedding of each input
        flat = out.reshape(len(out), -1).numpy()
        return {f"embedding_{i}": flat[:, i] for i in range(flat.shape[1])}
    classes = (pre.state.get("classes") or [str(i) for i in range(out.shape[-1] if out.dim() > 1 else 2)])
    if plan.mode == "multiclass":
        probs = torch.softmax(out, dim=1).numpy()
        return {"label": np.asarray(classes, dtype=object)[probs.argmax(1)],
                **{f"prob_{c}": probs[:, i] for i, c in enumerate(classes)}}
    if plan.mode == "binary":
        p = torch.sigmoid(out).reshape(-1).numpy()
        return {"label": np.asarray(classes[:2], dtype=object)[(p >= 0.5).astype(int)], f"prob_{classes[1]}": p}
    if plan.mode == "multilabel":
        p = torch.sigmoid(out).numpy()
        return {f"prob_{c}": p[:, i] for i, c in enumerate(classes)}
    values = pre.inverse_target(out.numpy()) if plan.mode == "regression" else out.numpy()
    flat = values.reshape(len(values), -1)
    if flat.shape[1] == 1:
        return {"prediction": flat[:, 0]}
    return {f"prediction_{i}": flat[:, i] for i in range(flat.shape[1])}


def _write(path: Path, result: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".npz":
        np.savez(path, **{k: (v.astype(str) if v.dtype == object else v) for k, v in result.items()})
        return
    if path.suffix.lower() != ".csv":
        raise DataError(f"cannot write {path.name}: give a .csv or .npz output", path=("--output",))
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(list(result))
        for row in zip(*result.values()):
            w.writerow([f"{v:.6g}" if isinstance(v, (float, np.floating)) else v for v in row])
