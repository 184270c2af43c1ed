"""Predictions for new data with a trained checkpoint: CSV, Parquet, JSON lines, NPZ/NPY or an image
folder in; CSV or NPZ out, with class probabilities and labels for classification and values (in
the target's original units) for regression.

The input is read against the training data's schema (``netspec.data.prediction``: columns by
name, never by position) and goes through the checkpoint's saved preprocessing (scalers,
categories, vocabulary). A run directory as the checkpoint means the weights the run reported.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Iterable, Optional

import numpy as np
import torch

from ..check import check
from ..checkpoint import load_checkpoint
from ..data import INPUT_CANDIDATES
from ..data.prediction import Schema, read_prediction_input
from ..data.preprocess import Preprocessor
from ..errors import DataError, Location, NetspecError, TrainError
from ..layers.shapes import fmt_shape
from ..spec import data as ds
from .session import located, resolve_plan


def schema_of(spec: Any, state: dict[str, Any], graph: Any) -> Schema:
    """The training data's schema from a checkpoint's preprocessing state (and the spec's source)."""
    source = spec.data.source if spec.data is not None else None
    features = graph.inputs.get("features")
    width = features.shape[0] if features is not None and len(features.shape) == 1 and isinstance(features.shape[0], int) \
        else None
    return Schema(state.get("feature_names"), dict(state.get("categories") or {}), width, source,
                  (state.get("image") or {}).get("resize"), state)


def predict_file(spec_path: str | Path, checkpoint: str | Path, input_path: str | Path, output_path: str | Path,
                 overrides: Iterable[str] = (), batch_size: int = 256) -> dict[str, Any]:
    """Predict for every row (sample) of ``input_path``; returns {output, rows, columns, checkpoint, notes}."""
    checked = check(spec_path, list(overrides))
    try:
        check_output(Path(output_path))  # before any work
        return _predict(checked, load_checkpoint(checkpoint), Path(input_path), Path(output_path), batch_size)
    except NetspecError as exc:
        raise located(exc, checked) from None


def _predict(checked, ckpt: dict, input_path: Path, output_path: Path, batch_size: int) -> dict[str, Any]:
    from ..checkpoint import check_same_models, describe, load_weights
    from ..compiler import compile_model

    spec, graph = checked.spec, checked.graph
    plan = resolve_plan(checked)
    kind = getattr(plan.program, "type", "supervised")
    if kind in ("vae", "gan"):
        raise TrainError(f"netspec predict runs one model; a {kind}'s models are sampled with `netspec sample` or "
                         "exported with `netspec export --model NAME`", path=("train", "program"))
    check_same_models(checked, ckpt, ["model"])
    model = compile_model(graph)
    load_weights(model, ckpt, "model")
    model.eval()
    pre = Preprocessor((spec.data.preprocess if spec.data else ds.Preprocess()))
    pre.load_state_dict(ckpt.get("preprocess") or {})
    shapes = {n: t.shape for n, t in graph.inputs.items()}
    read = read_prediction_input(input_path, schema_of(spec, pre.state, graph), shapes)
    arrays = pre.transform(read.table)
    longest = pre.state.get("max_len")
    cut = sum(len(s) > longest for s in read.table.ragged.get("tokens", [])) if longest else 0
    if cut:  # the training's padded length: what a sequence is read as (its tail has no prediction)
        read.notes.append(f"{cut} sequence(s) longer than the model's {longest} tokens were truncated as in training")
    inputs = {n: (spec.data.inputs.get(n) if spec.data else None) or (n if n in arrays else
              next((c for c in INPUT_CANDIDATES if c in arrays), n)) for n in model.input_names}
    prepare = pre.on_device()  # decoded uint8 images: scaled and normalized as in training
    check_fields(input_path, arrays, inputs, graph, read.rows, ("image",) if prepare is not None else ())
    with torch.no_grad():
        chunks = []
        for s in range(0, len(read.table), batch_size):
            batch = {f: torch.as_tensor(arrays[f][s: s + batch_size]) for f in set(inputs.values())}
            batch = prepare(batch) if prepare is not None else batch
            chunks.append(model(*[batch[inputs[n]] for n in model.input_names]))
    out = torch.cat([c[0] if isinstance(c, tuple) else c for c in chunks]).float()
    if getattr(plan, "per_position", False):  # a class per token or node: one row per real position
        result = per_position_rows(out, pre, arrays.get("lengths") if "tokens" in inputs.values() else None)
    else:
        result = _format(plan, out, pre, ckpt, getattr(spec.train.task, "threshold", 0.5) if spec.train else 0.5)
    _write(output_path, result)
    return {"output": str(output_path), "rows": len(read.table), "columns": list(result), "checkpoint": describe(ckpt),
            "notes": read.notes}


def check_fields(file: Path, arrays: dict[str, np.ndarray], inputs: dict[str, str], graph: Any, rows: list[str],
                 finished_later: tuple[str, ...] = ()) -> None:
    """Each model input's field is in the file, with the input's per-sample shape and dtype, and token
    ids within the embedding's vocabulary; errors name the input file. ``finished_later``: uint8 fields
    the preprocessing's device step scales (decoded images), left as they are here."""
    where = Location.whole(file)
    for name, fname in inputs.items():
        want = graph.inputs[name]
        if fname not in arrays:
            raise DataError(f"no {fname!r} for the model's input {name!r} (the file gives {', '.join(arrays) or 'nothing'})",
                            location=where, hint=f"an .npz input names its arrays after the model's inputs ({', '.join(inputs)})")
        got = arrays[fname].shape[1:]
        if len(got) != len(want.shape) or any(isinstance(w, int) and w != g for w, g in zip(want.shape, got)):
            raise DataError(f"{fname!r} has per-sample shape {fmt_shape(got)}, but the model's input {name!r} takes "
                            f"{fmt_shape(want.shape)}", location=where, hint="give samples of the training data's shape")
        is_int = np.issubdtype(arrays[fname].dtype, np.integer)
        if want.dtype == "int64" and not is_int:
            raise DataError(f"the model's input {name!r} takes integer ids; {fname!r} holds {arrays[fname].dtype}",
                            location=where)
        if fname in finished_later and arrays[fname].dtype == np.uint8:
            continue
        if want.dtype == "float32" and not np.issubdtype(arrays[fname].dtype, np.floating):
            arrays[fname] = arrays[fname].astype(np.float32)
        if want.dtype == "int64":
            _check_ids(file, arrays[fname], name, fname, graph, rows)


def _check_ids(file: Path, ids: np.ndarray, name: str, fname: str, graph: Any, rows: list[str]) -> None:
    for node in graph.nodes:
        if node.layer.tag == "embedding" and ("input", name) in [tuple(v[:2]) for v in node.inputs] and len(ids):
            bad = np.flatnonzero(((ids < 0) | (ids >= node.layer.num_embeddings)).reshape(len(ids), -1).any(axis=1))
            if len(bad):
                row = rows[int(bad[0])] if int(bad[0]) < len(rows) else f"row {int(bad[0])}"
                raise DataError(f"{row}: token id out of range for the embedding's {node.layer.num_embeddings} ids",
                                location=Location.whole(file), hint="token ids must come from the training vocabulary")


def per_position_rows(out: torch.Tensor, pre: Preprocessor, lengths: Optional[np.ndarray]) -> dict[str, np.ndarray]:
    """(N, L, C) logits -> one row per sample and position (``sample``, ``position``, ``label``,
    ``prob_<class>``); a sequence's padding (positions past its ``lengths``) has no row."""
    probs = torch.softmax(out, dim=-1).numpy()
    n, length, k = probs.shape
    classes = pre.state.get("classes") or [str(i) for i in range(k)]
    valid = np.ones((n, length), bool) if lengths is None else np.arange(length)[None, :] < lengths[:, None]
    sample, position = np.nonzero(valid)
    picked = probs[sample, position]
    return {"sample": sample, "position": position, "label": np.asarray(classes, dtype=object)[picked.argmax(1)],
            **{f"prob_{c}": picked[:, i] for i, c in enumerate(classes)}}


def _format(plan, out: torch.Tensor, pre: Preprocessor, ckpt: dict, threshold: float = 0.5) -> dict[str, np.ndarray]:
    kind = plan.program.prediction if plan.program is not None else "task"  # the program's declared output
    if kind == "embedding":  # the first embedding of each input
        flat = out.reshape(len(out), -1).numpy()
        return {f"embedding_{i}": flat[:, i] for i in range(flat.shape[1])}
    classes = (pre.state.get("classes") or [str(i) for i in range(out.shape[-1] if out.dim() > 1 else 2)])
    if kind == "decision":  # decisions or scores, never probabilities
        if plan.mode == "binary":  # the step unit's 0/1 output is the decision itself (a sigmoid of 0 is 0.5)
            return {"label": np.asarray(classes[:2], dtype=object)[out.reshape(-1).numpy().round().astype(int)]}
        scores = out.numpy()
        return {"label": np.asarray(classes, dtype=object)[scores.argmax(1)],
                **{f"score_{c}": scores[:, i] for i, c in enumerate(classes)}}
    if plan.mode == "multiclass":
        probs = torch.softmax(out, dim=1).numpy()
        return {"label": np.asarray(classes, dtype=object)[probs.argmax(1)],
                **{f"prob_{c}": probs[:, i] for i, c in enumerate(classes)}}
    if plan.mode == "binary":  # the task's decision threshold, as the metrics used it
        p = torch.sigmoid(out).reshape(-1).numpy()
        return {"label": np.asarray(classes[:2], dtype=object)[(p >= threshold).astype(int)], f"prob_{classes[1]}": p}
    if plan.mode == "multilabel":
        p = torch.sigmoid(out).numpy()
        return {f"prob_{c}": p[:, i] for i, c in enumerate(classes)}
    values = pre.inverse_target(out.numpy()) if plan.mode == "regression" else out.numpy()
    flat = values.reshape(len(values), -1)
    if flat.shape[1] == 1:
        return {"prediction": flat[:, 0]}
    return {f"prediction_{i}": flat[:, i] for i in range(flat.shape[1])}


def check_output(path: Path) -> None:
    """The output file can be written: a .csv or .npz name in an existing (or creatable) folder."""
    if path.suffix.lower() not in (".csv", ".npz"):
        raise DataError("give a .csv or .npz output", location=Location.whole(path))
    if path.is_dir():
        raise DataError("the output is a folder", location=Location.whole(path), hint="give a file name ending in .csv or .npz")


def _write(path: Path, result: dict[str, np.ndarray]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix.lower() == ".npz":
            np.savez(path, **{k: (v.astype(str) if v.dtype == object else v) for k, v in result.items()})
            return
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(list(result))
            for row in zip(*result.values()):
                w.writerow([f"{v:.6g}" if isinstance(v, (float, np.floating)) else v for v in row])
    except OSError as exc:
        raise DataError(f"cannot write the predictions: {exc.strerror or exc}", location=Location.whole(path)) from None
