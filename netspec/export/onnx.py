"""Export a torch module to ONNX with PyTorch's current exporter (``torch.onnx.export(dynamo=True)``),
then check what came out.

Design around what was measured on torch 2.13 (each point has a test in tests/test_export_traps.py):

* a requested opset below 18 is down-converted from 18 and, when the conversion fails, silently
  stays 18 (or claims the lower opset with nodes it does not define: a Split with num_outputs at
  opset 17). Below 18 the written opset is checked and the file run through onnx.checker; if
  either fails, the module is exported again with the TorchScript exporter, which implements
  opsets 9-20 natively (the only fallback, recorded in ``OnnxExport.exporter`` and ``notes``); if
  that fails too, an ExportError says which opsets work;
* a second export of an LSTM/GRU in the same process froze a dynamic sequence axis: the exporter
  patches the ops' Python kernels for the export and a stale dispatch cache kept the patched
  kernel's specialization. The caches are cleared before every export, and every axis meant to
  be dynamic is checked in the written graph (a frozen one is an ExportError, never a silent file);
* at opset 23 onnxruntime rejects the ``Attention`` node of a transformer with a padding mask
  (it wants the mask's query axis spelled out): masks are expanded to (…, Lq, Lk) in the graph;
  below 23 a query with no key to attend to is not zero as in PyTorch (netspec.export.attention);
* packed sequences, adaptive pooling and 3-d attention get export forms (netspec.export.prepare).

``export_module`` is the whole-module API; netspec.export.spec drives it for spec models.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import logging
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import torch
from torch import nn

from ..errors import ExportError
from . import rnn
from .prepare import export_copy

NATIVE_OPSET = 18
TORCHSCRIPT_MAX_OPSET = 20
_NO_FUNCTION = re.compile(r"No ONNX function found for <OpOverload\(op='([\w.:]+)', overload='(\w+)'\)>")


class UnsupportedOpError(ExportError):
    """An operator with no ONNX mapping at the requested opset; ``op`` is its name (aten.cummax)."""

    def __init__(self, message: str, op: str, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.op = op


@dataclass
class OnnxExport:
    """What ``export_module`` wrote."""

    path: Path
    opset: int
    exporter: str  # "dynamo" (torch.export based) or "torchscript" (the documented fallback)
    input_names: list[str]
    output_names: list[str]
    dynamic_axes: dict[str, dict[int, str]]
    dynamic_outputs: dict[str, dict[int, str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def export_module(module: nn.Module, example_inputs: Sequence[torch.Tensor], input_names: Sequence[str],
                  output_names: Sequence[str], path: str | Path, dynamic_axes: Optional[dict[str, dict[int, str]]] = None,
                  opset: int = NATIVE_OPSET, metadata: Optional[dict[str, str]] = None, prepare: bool = True,
                  dynamic_outputs: Optional[dict[str, dict[int, str]]] = None) -> OnnxExport:
    """Write ``module`` (in eval mode; with ``prepare`` its export copy) as ONNX at ``path``.

    ``dynamic_axes`` names the free axes per input, e.g. ``{"tokens": {0: "batch", 1: "seq"}}``;
    one name shared by several inputs is one size. ``dynamic_outputs`` lists output axes that must
    come out dynamic too. Raises ExportError (UnsupportedOpError for an op without ONNX mapping).
    """
    path = Path(path)
    dynamic_axes = {k: dict(v) for k, v in (dynamic_axes or {}).items()}
    model = export_copy(module).cpu() if prepare else module.eval()  # the file is device-free; CPU traces it
    args = tuple(t.cpu() for t in example_inputs) if prepare else tuple(example_inputs)
    dynamic_outputs = {k: dict(v) for k, v in (dynamic_outputs or {}).items()}
    result = OnnxExport(path, opset, "dynamo", list(input_names), list(output_names), dynamic_axes, dynamic_outputs)
    proto = _dynamo_export(model, args, result)
    problem = _conversion_problem(proto, opset)
    if problem:
        if opset >= NATIVE_OPSET or opset > TORCHSCRIPT_MAX_OPSET:
            raise ExportError(f"asked for opset {opset}: {problem}", hint=f"use opset {_opset_of(proto)}")
        result.notes.append(f"the current exporter could not convert down to opset {opset} ({problem}); "
                            "exported with the TorchScript exporter instead")
        result.exporter = "torchscript"
        proto = _torchscript_export(model, args, result, NATIVE_OPSET)
    from .postprocess import check_dynamic, expand_attention_masks, set_metadata

    if opset >= 23:
        expand_attention_masks(proto)
    check_dynamic(proto, dynamic_axes, dynamic_outputs)
    set_metadata(proto, metadata or {})
    _save(proto, path)
    return result


def _dynamo_export(model: nn.Module, args: tuple, result: OnnxExport):
    dims: dict[str, torch.export.Dim] = {}
    per_arg = []
    for name in result.input_names:
        axes = result.dynamic_axes.get(name)
        per_arg.append({a: dims.setdefault(n, torch.export.Dim(n)) for a, n in axes.items()} if axes else None)
    for op in (torch.ops.aten.lstm.input, torch.ops.aten.gru.input):
        op._dispatch_cache.clear()  # see the module docstring: a stale cache froze sequence axes
    try:
        with _quiet():
            program = torch.onnx.export(model, args, dynamo=True, input_names=result.input_names,
                                        output_names=result.output_names, opset_version=result.opset,
                                        dynamic_shapes=_bind(model, per_arg), custom_translation_table=_translations(result.opset),
                                        verbose=False)
    except Exception as exc:  # noqa: BLE001 - the exporter raises many kinds; all become ExportErrors
        raise _export_error(exc, result.opset) from None
    return program.model_proto


def _translations(opset: int) -> dict:
    from . import attention

    return {**rnn.TRANSLATIONS, **(attention.TRANSLATIONS if opset < 23 else {})}


def _bind(model: nn.Module, per_arg: list) -> dict:
    """dynamic_shapes keyed like forward's parameters (``*args`` takes a tuple)."""
    sig = inspect.signature(model.forward)
    bound = sig.bind(*range(len(per_arg)))
    out = {}
    for pname, value in bound.arguments.items():
        if sig.parameters[pname].kind is inspect.Parameter.VAR_POSITIONAL:
            out[pname] = tuple(per_arg[i] for i in value)
        else:
            out[pname] = per_arg[value]
    return out


def _torchscript_export(model: nn.Module, args: tuple, result: OnnxExport, native: int):
    import onnx

    axes = {**result.dynamic_axes, **result.dynamic_outputs}  # it fixes every output axis not named
    rnn.register_torchscript_symbolic()
    buffer = io.BytesIO()
    try:
        with _quiet():
            torch.onnx.export(model, args, buffer, dynamo=False, input_names=result.input_names,
                              output_names=result.output_names, opset_version=result.opset,
                              dynamic_axes=axes or None, do_constant_folding=True)
    except Exception as exc:  # noqa: BLE001
        raise ExportError(f"cannot export at opset {result.opset}: the current exporter writes opset {native} and "
                          f"could not convert it down, and the TorchScript exporter failed: {_summary(exc)}",
                          hint=f"use opset {native} or higher") from None
    return onnx.load_model_from_string(buffer.getvalue())


def _export_error(exc: Exception, opset: int) -> ExportError:
    text = str(exc)
    missing = _NO_FUNCTION.search(text)
    if missing:
        op = missing.group(1)
        return UnsupportedOpError(f"the operator {op} has no ONNX mapping at opset {opset}", op=op,
                                  hint="try a newer opset (up to 23) or replace the layer with one that exports")
    stage = "capture the model with torch.export" if "torch.export" in text.split("\n", 1)[0] else "convert the model"
    return ExportError(f"the ONNX exporter could not {stage}: {_summary(exc)}",
                       hint="rerun with --debug for the exporter's full report")


def _summary(exc: Exception) -> str:
    root: BaseException = exc
    while root.__cause__ is not None:
        root = root.__cause__
    text = str(root).strip()
    if "Exception summary" in text:
        after = text.split("Exception summary", 1)[1].strip().splitlines()
        text = next((line for line in after if line.strip()), text)
    line = text.splitlines()[0] if text else type(root).__name__
    line = line.split(" [Caused by")[0].strip()
    return re.sub(r"^<class '[\w.]+'>: ", "", line)[:300]


@contextlib.contextmanager
def _quiet():
    """The exporter prints progress to stdout and logs warnings; keep stdout for results."""
    loggers = [logging.getLogger(n) for n in ("torch.onnx", "onnxscript", "torch.export", "torch._export")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def _conversion_problem(proto, opset: int) -> Optional[str]:
    """Why the exporter's file is not a valid model at ``opset`` (None if it is). Below 18 it
    converts down from 18: it may keep 18, or write nodes the lower opset does not define."""
    got = _opset_of(proto)
    if got != opset:
        return f"it wrote opset {got}"
    if opset >= NATIVE_OPSET:
        return None
    import onnx

    try:
        onnx.checker.check_model(proto, full_check=True)
    except Exception as exc:  # noqa: BLE001 - ValidationError, InferenceError
        return f"its opset-{opset} file fails onnx.checker: {str(exc).strip().splitlines()[0][:200]}"
    return None


def _opset_of(proto) -> int:
    return next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), 0)


def _save(proto, path: Path) -> None:
    """Save; weights go to an external ``.data`` file beside it past protobuf's 2 GiB limit."""
    import math

    import onnx

    path.parent.mkdir(parents=True, exist_ok=True)
    nbytes = sum(math.prod(t.dims) * _ITEMSIZE.get(t.data_type, 8) for t in proto.graph.initializer)
    large = nbytes > 1_800_000_000
    onnx.save_model(proto, str(path), save_as_external_data=large, location=path.name + ".data" if large else None)


_ITEMSIZE = {1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 16: 2}
