"""Data for training: read the source, split, fit preprocessing on the train split, bind fields to
the model's inputs and the losses' targets, check shapes and labels, and make batch iterators.

``prepare_data(spec, plan, graph, base, device)`` -> ``DataBundle``. The bundle's ``inputs`` maps
each model input to a field and ``preprocessor.state_dict()`` is what a checkpoint saves (with
class labels and vocabulary), so ``predict`` applies the same transform to new data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from ..errors import DataError
from ..layers.shapes import fmt_shape
from ..spec import data as ds
from . import progress
from .augment import Augment
from .batches import DeviceBatches, StreamBatches
from .columnar import is_streamed
from .faults import Faults
from .lazy import SampleFault, any_lazy, is_lazy
from .preprocess import Preprocessor
from .sources import SOURCE_PATH, load_source
from .split import split_table
from .streaming_stats import label_counts
from .table import Table

INPUT_CANDIDATES = ("features", "image", "tokens")
IMAGE_FIELDS = ("image",)


@dataclass
class DataBundle:
    arrays: dict[str, dict[str, np.ndarray]]  # split -> field -> array (preprocessed)
    preprocessor: Preprocessor
    inputs: dict[str, str]  # model input -> field
    class_weights: Optional[np.ndarray] = None
    sample_weights: Optional[np.ndarray] = None
    augment: Optional[Augment] = None
    loaders: dict[str, Any] = field(default_factory=dict)
    prepare: Optional[Callable[[dict], dict]] = None  # finishes a batch on the device (uint8 images -> floats)
    faults: Optional[Faults] = None  # data.bad_samples, also for samples that fail to read mid-epoch
    origins: dict[str, Any] = field(default_factory=dict)  # split -> faults.Origin (file sources): rows in errors
    skipped: dict[str, dict[str, int]] = field(default_factory=dict)  # data.bad_samples: skip -> {file: {reason: n}}

    def size(self, split: str) -> int:
        a = self.arrays.get(split) or {}
        return len(next(iter(a.values()))) if a else 0


def read_table(spec: Any, base: Path, classify: bool) -> Table:
    return load_source(spec.data.source, base, classify)


def prepare_data(spec: Any, plan: Any, graph: Any, base: Path, state: Optional[dict] = None) -> DataBundle:
    """Everything up to arrays; ``state`` (a saved preprocessor) is reused instead of refitted."""
    if spec.data is None:
        raise DataError("the spec has no `data:` section", path=(), hint="add data: {source: {type: sklearn, name: digits}}")
    data: ds.DataSpec = spec.data
    classify = plan.mode in ("multiclass", "binary", "multilabel")
    faults = Faults(data.bad_samples)
    trained = {"features": state.get("feature_names"), "classes": state.get("classes")} if state is not None else None
    table = load_source(data.source, base, classify, faults=faults, expect=trained)  # a trained model's columns and classes
    table = cache_images(table, data, base, faults)

    def read_other(name: str, path: tuple) -> Table:  # a files split: the train file's columns and classes
        src = data.source.model_copy(update={"path": name})
        return load_source(src, base, classify, path=path[:-1] + (path[-1],), faults=faults,
                           expect={"features": table.feature_names, "classes": table.classes})

    splits = split_table(data.split, table, read_other)
    if isinstance(data.split, ds.FilesSplit):  # the val/test image folders are cached like the train one
        splits = {k: v if k == "train" else cache_images(v, data, base, faults) for k, v in splits.items()}
    pre = Preprocessor(data.preprocess, workers=data.loader.num_workers)
    if state is not None:
        pre.load_state_dict(state)
    else:
        pre.fit(splits["train"], regression_target=plan.mode == "regression", ignore_index=getattr(plan, "ignore_index", -100))
    arrays = {name: pre.transform(t) for name, t in splits.items()}
    bundle = DataBundle(arrays, pre, bind_inputs(data, graph, arrays["train"]))
    bundle.prepare = pre.on_device()
    bundle.origins = {name: t.origin for name, t in splits.items() if t.origin is not None}
    bundle.faults = faults
    bundle.skipped = faults.summary()
    check_inputs(bundle, graph)
    check_targets(bundle, plan, graph)
    _weights(bundle, data, plan)
    image_fields = [f for f in bundle.inputs.values() if f in IMAGE_FIELDS]
    bundle.augment = Augment(data.augment, image_fields) if data.augment else None
    if data.augment and not image_fields:
        raise DataError("augmentation needs an image input", path=("data", "augment"),
                        hint="augmentations apply to the `image` field (image_folder, sklearn digits with images: true)")
    return bundle


def bind_inputs(data: ds.DataSpec, graph: Any, arrays: dict[str, np.ndarray]) -> dict[str, str]:
    out: dict[str, str] = {}
    names = list(graph.inputs)
    for name in names:
        fname = data.inputs.get(name)
        path = ("data", "inputs", name)
        if fname is None:
            if name in arrays:
                fname = name
            elif len(names) == 1:
                fname = next((c for c in INPUT_CANDIDATES if c in arrays), None)
            path = ("data", "inputs")
        if fname is None or fname not in arrays:
            raise DataError(f"no data field for model input {name!r}" if fname is None else f"no data field {fname!r}",
                            path=path if fname is not None else ("inputs", name),
                            hint=f"the data has fields {', '.join(arrays)}; map them with data.inputs: {{{name}: FIELD}}")
        out[name] = fname
    return out


def check_inputs(bundle: DataBundle, graph: Any) -> None:
    """Each bound field's per-sample shape must fit the spec's input shape (symbolic dims match any size)."""
    for name, fname in bundle.inputs.items():
        want = graph.inputs[name]
        for split, arrays in bundle.arrays.items():
            got = arrays[fname].shape[1:]
            if len(arrays[fname]) == 0:
                continue
            ok = len(got) == len(want.shape) and all(not isinstance(w, int) or w == g for w, g in zip(want.shape, got))
            if not ok:
                raise DataError(f"data field {fname!r} ({split} split) has per-sample shape {fmt_shape(got)}, "
                                f"but input {name!r} expects {fmt_shape(want.shape)}", path=("inputs", name, "shape"),
                                hint="fix the input shape, or choose another source/preprocessing (e.g. images: true)")
            is_int = np.issubdtype(arrays[fname].dtype, np.integer)
            if fname in IMAGE_FIELDS and arrays[fname].dtype == np.uint8 and bundle.prepare is not None:
                continue  # decoded images: made float32 on the device, batch by batch
            if want.dtype == "int64" and not is_int:
                raise DataError(f"input {name!r} takes int64 ids, but field {fname!r} holds floats", path=("inputs", name, "dtype"))
            if want.dtype == "float32" and is_int:
                arrays[fname] = arrays[fname].astype(np.float32)
        _check_vocab(bundle, graph, name, fname)


def _check_vocab(bundle: DataBundle, graph: Any, name: str, fname: str) -> None:
    if graph.inputs[name].dtype != "int64":
        return
    top = max((_max_id(a[fname]) for a in bundle.arrays.values() if len(a[fname])), default=0)
    for node in graph.nodes:
        if node.layer.tag == "embedding" and ("input", name) in [tuple(v[:2]) for v in node.inputs]:
            if top >= node.layer.num_embeddings:
                raise DataError(f"token id {top} in field {fname!r} is out of range for num_embeddings "
                                f"{node.layer.num_embeddings}", path=node.path, context=node.context,
                                hint=f"set num_embeddings to at least {top + 1} (the vocabulary size)")


def _max_id(value: Any) -> int:
    """The largest id of a token field; a lazy one says it (``max_id``) instead of being read whole."""
    if is_lazy(value):
        return int(getattr(value, "max_id", 0))
    return int(value.max())


def check_targets(bundle: DataBundle, plan: Any, graph: Any) -> None:
    for binding in plan.losses:
        target = binding.target if binding.target is not None else bundle.inputs[next(iter(graph.inputs))]
        for split, arrays in bundle.arrays.items():
            if target not in arrays:
                raise DataError(f"loss target field {target!r} is not in the data ({split} split)",
                                path=binding.path + ("target",), hint=f"fields: {', '.join(arrays)}")
            y = arrays[target]
            if is_lazy(y):  # read on demand: its range is known without reading it (token windows: max_id)
                _check_lazy_labels(y, plan, binding, split)
                continue
            supervised = getattr(plan.program, "type", "supervised") == "supervised"  # the targets are the output's classes
            if supervised and plan.mode in ("multiclass", "multilabel") and len(y):
                _check_target_shape(y, plan, graph, binding, target, split, _symbol_sizes(bundle, graph, split))
            if plan.mode == "multilabel" and len(y):
                _check_multi_hot(y, binding, target, split, bundle.origins.get(split))
            if plan.mode in ("multiclass", "binary", "language_model", "seq2seq", "segmentation") and len(y):
                _check_labels(y, plan, binding, split, bundle.origins.get(split))
            if plan.mode == "segmentation" and len(y):
                want = tuple(graph.output_types()[binding.outputs[0]].shape[1:])
                if tuple(y.shape[1:]) != want:
                    raise DataError(f"masks in field {target!r} ({split} split) are {fmt_shape(y.shape[1:])}, but the logits "
                                    f"{binding.outputs[0]!r} are {fmt_shape(want)} per class", path=binding.path + ("target",),
                                    hint="masks need the logits' height and width")


def _symbol_sizes(bundle: DataBundle, graph: Any, split: str) -> dict[str, int]:
    """Symbolic input dims (``seq``, ``nodes``) -> their size in this split's bound fields."""
    sizes: dict[str, int] = {}
    for name, fname in bundle.inputs.items():
        got = bundle.arrays[split][fname].shape[1:]
        for want, size in zip(graph.inputs[name].shape, got):
            if isinstance(want, str):
                sizes.setdefault(want, int(size))
    return sizes


def _check_target_shape(y: np.ndarray, plan: Any, graph: Any, binding: Any, target: str, split: str,
                        sizes: dict[str, int]) -> None:
    """A class index per position of the output's leading dims (multiclass: classes on the last axis, so
    (C,) logits take one index per sample, (L, C) one per token), or one 0/1 per logit (multilabel)."""
    name = binding.outputs[0]
    out = tuple(graph.output_types()[name].shape)
    want = out[:-1] if plan.mode == "multiclass" else out
    got = tuple(y.shape[1:])
    fits = len(got) == len(want) and all(
        g == (w if isinstance(w, int) else sizes.get(w, g)) for w, g in zip(want, got))  # unknown symbols fit any size
    if fits:
        return
    shown = tuple(w if isinstance(w, int) or w not in sizes else sizes[w] for w in want)
    if plan.mode == "multilabel":
        need, hint = f"one 0/1 target per logit, {fmt_shape(shown)}", "the output needs one logit per target column"
    elif not want and len(got) == 1 and got[0] == out[-1]:
        need, hint = "one class index per sample, ()", ("several 0/1 target columns are a multilabel task: set "
                                                         "train.task.mode: multilabel (loss bce_with_logits)")
    else:
        need = f"one class index per position, {fmt_shape(shown)}" if want else "one class index per sample, ()"
        hint = "classes are on the last axis of the logits; the target has the shape of the leading axes"
    raise DataError(f"targets in field {target!r} ({split} split) are {fmt_shape(got)} per sample, but output {name!r} "
                    f"is {fmt_shape(out)}: that needs {need}", hint=hint,
                    path=binding.path + ("target",) if getattr(binding.spec, "target", None) else SOURCE_PATH)


def _check_multi_hot(y: np.ndarray, binding: Any, target: str, split: str, origin: Any = None) -> None:
    """Multilabel targets are 0/1 per label: other values would count as neither in the metrics."""
    bad = ~np.isin(y, (0, 1))
    if bad.any():
        row = int(np.flatnonzero(bad.reshape(len(y), -1).any(axis=1))[0])
        where = f"; {origin.describe(row)}" if origin is not None else ""
        raise DataError(f"multilabel target {y.reshape(len(y), -1)[row][bad.reshape(len(y), -1)[row]][0]!r} in field "
                        f"{target!r} ({split} split{where}) is not 0 or 1", path=SOURCE_PATH,
                        hint="multilabel targets hold 0/1 per label (multi-hot)")


def _check_labels(y: np.ndarray, plan: Any, binding: Any, split: str, origin: Any = None) -> None:
    if not np.issubdtype(y.dtype, np.integer):
        raise DataError(f"{plan.mode} targets must be integer class indices, got {y.dtype} values ({split} split)",
                        path=SOURCE_PATH, hint="use task regression for real-valued targets")
    ignore = getattr(binding.spec, "ignore_index", plan.ignore_index if getattr(plan, "per_position", False) else None)
    valid = y[y != ignore] if ignore is not None else y
    k = plan.num_classes
    if k is not None and len(valid) and (valid.min() < 0 or valid.max() >= k):
        out = ((y < 0) | (y >= k)) & ((y != ignore) if ignore is not None else True)
        row = int(np.flatnonzero(out.reshape(len(y), -1).any(axis=1))[0])
        bad = int(y.reshape(len(y), -1)[row][out.reshape(len(y), -1)[row]][0])
        where = f"; {origin.describe(row)}" if origin is not None else ""
        raise DataError(f"label {bad} ({split} split{where}) is out of range for {k} classes (valid: 0…{k - 1})",
                        path=SOURCE_PATH, hint="the model's output width must equal the number of classes")


def _check_lazy_labels(y: Any, plan: Any, binding: Any, split: str) -> None:
    k, top = plan.num_classes, getattr(y, "max_id", None)
    if k is not None and top is not None and len(y) and top >= k:
        raise DataError(f"label {top} ({split} split) is out of range for {k} classes (valid: 0…{k - 1})",
                        path=SOURCE_PATH, hint="the model's output width must equal the number of classes")


def _weights(bundle: DataBundle, data: ds.DataSpec, plan: Any) -> None:
    y = bundle.arrays["train"].get("target")
    counts = None
    per_position = getattr(plan, "per_position", False)
    if y is not None and (y.ndim == 1 or per_position) and np.issubdtype(y.dtype, np.integer) and len(y):
        if is_lazy(y):  # read on demand (a streamed cache): counted chunk by chunk, never read whole
            counts = label_counts(y, plan.ignore_index if per_position else None, plan.num_classes or 0)
        else:
            valid = y[y != plan.ignore_index] if per_position else y  # per position: the labelled tokens / nodes
            counts = np.bincount(valid, minlength=plan.num_classes or 0).astype(np.float64)
    if data.class_weights == "auto" or any(getattr(b.spec, "class_weights", None) == "auto" for b in plan.losses):
        if counts is None:
            raise DataError("class_weights auto needs integer class labels in `target`", path=("data", "class_weights"))
        bundle.class_weights = np.where(counts > 0, counts.sum() / (len(counts) * np.maximum(counts, 1)), 1.0)
    elif isinstance(data.class_weights, list):
        bundle.class_weights = np.asarray(data.class_weights, np.float64)
    if data.sampler == "weighted":
        if per_position:
            raise DataError("the weighted sampler draws samples by their class; per-position targets give a sample many "
                            "classes", path=("data", "sampler"), hint="use class_weights: auto to weight the loss instead")
        if counts is None:
            raise DataError("the weighted sampler needs integer class labels in `target`", path=("data", "sampler"))
        bundle.sample_weights = 1.0 / np.maximum(counts, 1)[y]


def make_loaders(bundle: DataBundle, data: ds.DataSpec, device: Any, batch_size: int, eval_batch_size: int) -> None:
    """Train/val/test batch iterators: on the device when the data fits (lazy fields are read whole
    first, by the loader's workers), else streamed (lazy rows read batch by batch in the workers)."""
    total = sum(a.nbytes for split in bundle.arrays.values() for a in split.values())
    on_device = data.loader.on_device if data.loader.on_device != "auto" else total <= data.loader.max_device_mb * 2**20
    if data.loader.on_device == "auto" and any(is_streamed(v) for a in bundle.arrays.values() for v in a.values()):
        # a file read in record batches stays streamed (it was too large to read whole); shards stream
        # whatever their size, so that each rank reads only its part
        on_device = False
    faults = bundle.faults or Faults(data.bad_samples)
    for split, arrays in bundle.arrays.items():
        train = split == "train"
        where = _source_of(bundle, split)
        if on_device and any_lazy(arrays):
            arrays = bundle.arrays[split] = read_whole(arrays, data.loader.num_workers, faults, split, where)
        kwargs = dict(mode=data.sampler if train else "sequential", drop_last=data.loader.drop_last and train,
                      weights=bundle.sample_weights if train else None, prepare=bundle.prepare)
        size = batch_size if train else eval_batch_size
        if on_device:
            bundle.loaders[split] = DeviceBatches(arrays, device, size, **kwargs)
        else:
            cheap = all(v.cheap for v in arrays.values() if is_lazy(v))  # memory-mapped rows: no worker processes
            bundle.loaders[split] = StreamBatches(arrays, device, size, num_workers=0 if cheap else data.loader.num_workers,
                                                  pin_memory=data.loader.pin_memory, skip=faults.skip,
                                                  faults=_counting(bundle, faults, where), **kwargs)
    bundle.skipped = faults.summary()  # reading lazy fields whole may have left samples out


def _source_of(bundle: DataBundle, split: str) -> tuple[str, int]:
    """The file or folder a split's samples come from, and how many samples it held (for skip counts)."""
    origin = bundle.origins.get(split)
    return (origin.file, origin.total) if origin is not None else ("the data", bundle.size(split))


def _counting(bundle: DataBundle, faults: Faults, source: tuple[str, int]) -> Callable[[SampleFault, bool], None]:
    """What a streamed loader does with a sample that fails to read mid-epoch: raise the located error,
    or (skip) count it under its source and stop once more than max_fraction of it was left out."""
    file, total = source
    seen: set[str] = set()  # a sample that fails every epoch is one sample left out, not one per epoch

    def report(fault: SampleFault, skipped: bool) -> None:
        if fault.where in seen:
            return
        seen.add(fault.where)
        faults.bad(fault.where, fault.problem, fault.reason, SOURCE_PATH, file=file)
        faults.limit(file, total, SOURCE_PATH)
        bundle.skipped = faults.summary()

    return report


def read_whole(arrays: dict[str, Any], workers: int, faults: Faults, split: str,
               source: tuple[str, int]) -> dict[str, np.ndarray]:
    """Every row of a split's lazy fields, read by ``workers`` processes (rows that fail to read follow
    data.bad_samples: an error, or left out of every field and counted)."""
    from .batches import read_in_workers

    out = {k: v for k, v in arrays.items() if not is_lazy(v)}
    keep = np.ones(len(next(iter(arrays.values()))), bool)
    for name, value in arrays.items():
        if not is_lazy(value):
            continue
        if value.cheap:  # slices of a memory map (token windows): read here, no workers
            out[name] = value.materialize()
            continue
        rows = np.empty(value.shape, value.dtype)
        counter = progress.task(f"reading the {split} split's {name!r} ({len(value):,} samples)", len(value), "samples")
        for start, chunk, bad in _located(read_in_workers(value, workers, faults.skip), faults, source[0]):
            rows[start:start + len(chunk)] = chunk
            for pos, fault in bad:
                faults.bad(fault.where, fault.problem, fault.reason, SOURCE_PATH, file=source[0])
                keep[start + pos] = False
            counter.advance(len(chunk))
        counter.done()
        out[name] = rows
    if not keep.all():
        faults.limit(source[0], source[1], SOURCE_PATH)
        out = {k: v[keep] for k, v in out.items()}
    return out


def _located(chunks: Any, faults: Faults, file: str) -> Any:
    """The chunks, a sample that fails to read (without skip) raised as the located DataError naming it."""
    try:
        yield from chunks
    except SampleFault as fault:
        faults.bad(fault.where, fault.problem, fault.reason, SOURCE_PATH, file=file)
        raise


def cache_images(table: Table, data: ds.DataSpec, base: Path, faults: Faults) -> Table:
    """``cache: ram|disk`` of an image source: decode every image once now; rows that fail follow
    data.bad_samples (an error naming the file, or left out and counted)."""
    from ..resources import available_bytes, human_bytes
    from .images import LazyImages, build_cache

    kind = getattr(data.source, "cache", "none")
    images = table.fields.get("image")
    if kind == "none" or not isinstance(images, LazyImages):
        return table
    folder = Path(table.origin.file) if table.origin is not None else base
    free = available_bytes("cpu")
    if kind == "ram" and free is not None and images.nbytes > 0.8 * free:
        raise DataError(f"cache: ram needs {human_bytes(images.nbytes)} for {len(images):,} decoded images, and "
                        f"{human_bytes(free)} of memory is free", path=SOURCE_PATH + ("cache",),
                        hint="use cache: disk (a memory-mapped file beside the data) or cache: none")
    try:
        cache, bad = build_cache(images, kind, folder, data.loader.num_workers, faults.skip)
    except SampleFault as fault:
        faults.bad(fault.where, fault.problem, fault.reason, SOURCE_PATH + ("path",), file=str(folder))
        raise
    table.fields["image"] = cache
    for _i, fault in bad:
        faults.bad(fault.where, fault.problem, fault.reason, SOURCE_PATH + ("path",), file=str(folder))
    if bad:
        faults.limit(str(folder), len(images), SOURCE_PATH + ("path",))
        keep = np.setdiff1d(np.arange(len(images)), [i for i, _ in bad])
        table = table.take(keep)
    return table
