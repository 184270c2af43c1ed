"""Proof that an ONNX file computes what the PyTorch module computes.

``verify(path, module, inputs_list, atol, rtol)`` runs ``onnx.checker`` with the full check
(including shape inference), then runs every input set in onnxruntime (CPU) and in PyTorch (eval
mode, no grad) and compares each output: float outputs pass when every element satisfies
``|onnx - torch| <= atol + rtol * |torch|`` (NaN only where PyTorch has NaN); integer and bool
outputs must be equal. Each output reports its maximum absolute error and its relative error
(maximum absolute error / maximum |torch| value).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional, Sequence, Union

import numpy as np
import torch
from torch import nn

from ..errors import ExportError

Inputs = Union[Sequence[torch.Tensor], Mapping[str, torch.Tensor]]


@dataclass
class OutputCheck:
    name: str
    max_abs: float
    max_rel: float
    ok: bool
    note: str = ""


@dataclass
class RunCheck:
    """One input set: its batch size, the sizes of its dynamic axes, and each output's errors."""

    batch: int
    sizes: dict[str, int]
    outputs: list[OutputCheck]

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.outputs)


@dataclass
class VerifyReport:
    path: Path
    atol: float
    rtol: float
    runs: list[RunCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.runs) and all(r.ok for r in self.runs)

    def worst(self) -> Optional[OutputCheck]:
        checks = [o for r in self.runs for o in r.outputs]
        return max(checks, key=lambda o: (not o.ok, o.max_abs), default=None)

    def as_dict(self) -> dict:
        return {"ok": self.ok, "atol": self.atol, "rtol": self.rtol, "runs": [
            {"batch": r.batch, "sizes": r.sizes, "outputs": [
                {"name": o.name, "max_abs": o.max_abs, "max_rel": o.max_rel, "ok": o.ok, **({"note": o.note} if o.note else {})}
                for o in r.outputs]} for r in self.runs]}


def check_model(path: str | Path) -> None:
    """onnx.checker with the full check; an ExportError if the file is not valid ONNX."""
    import onnx

    try:
        onnx.checker.check_model(str(path), full_check=True)
    except Exception as exc:  # noqa: BLE001 - ValidationError, InferenceError, ...
        raise ExportError(f"{Path(path).name} fails onnx.checker: {str(exc).strip().splitlines()[0][:300]}") from None


def verify(path: str | Path, module: nn.Module, inputs_list: Sequence[Inputs], atol: float = 1e-4, rtol: float = 0.0,
           sizes: Optional[Sequence[dict[str, int]]] = None) -> VerifyReport:
    """Check the file, then compare onnxruntime with ``module`` on every input set of ``inputs_list``
    (tensors in the order of both the file's and the module's inputs, or a mapping by input name in
    the module's order: the file may leave out inputs it does not use). ``sizes`` labels each run."""
    check_model(path)
    session = _session(path)
    names = [i.name for i in session.get_inputs()]
    out_names = [o.name for o in session.get_outputs()]
    report = VerifyReport(Path(path), atol, rtol)
    was_training = module.training
    device = next(module.parameters(), torch.empty(0)).device  # PyTorch runs where the module lives
    module.eval()
    try:
        for i, inputs in enumerate(inputs_list):
            tensors = list(inputs.values()) if isinstance(inputs, Mapping) else list(inputs)
            feed = [inputs[n] for n in names] if isinstance(inputs, Mapping) else tensors
            if len(feed) != len(names):
                raise ExportError(f"{Path(path).name} takes {len(names)} input(s) ({', '.join(names)}), got {len(feed)}")
            got = _run(session, names, feed)
            with torch.no_grad():
                want = module(*[t.to(device) for t in tensors])
            want = torch.utils._pytree.tree_leaves(want)  # (y, (h, c)) -> [y, h, c], as ONNX flattens them
            checks = [compare(n, g, w.detach().cpu().numpy(), atol, rtol) for n, g, w in zip(out_names, got, want)]
            if len(got) != len(want):
                checks.append(OutputCheck("(count)", math.inf, math.inf, False, f"ONNX gives {len(got)}, PyTorch {len(want)}"))
            label = dict(sizes[i]) if sizes is not None else {}
            report.runs.append(RunCheck(int(tensors[0].shape[0]) if tensors and tensors[0].dim() else 1, label, checks))
    finally:
        module.train(was_training)
    return report


def _session(path: str | Path):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001
        raise ExportError(f"onnxruntime cannot load {Path(path).name}: {str(exc).strip().splitlines()[0][:300]}") from None


def _run(session, names: list[str], tensors: list[torch.Tensor]) -> list[np.ndarray]:
    feed = {n: t.detach().cpu().numpy() for n, t in zip(names, tensors)}
    try:
        return session.run(None, feed)
    except Exception as exc:  # noqa: BLE001
        shapes = ", ".join(f"{n} {tuple(t.shape)}" for n, t in zip(names, tensors))
        raise ExportError(f"onnxruntime fails at {shapes}: {str(exc).strip().splitlines()[0][:300]}",
                          hint="the graph does not run at these sizes; export the axes involved as fixed sizes") from None


def compare(name: str, got: np.ndarray, want: np.ndarray, atol: float, rtol: float) -> OutputCheck:
    if got.shape != want.shape:
        return OutputCheck(name, math.inf, math.inf, False, f"shape {got.shape}, PyTorch {want.shape}")
    if want.dtype.kind in "biu":
        diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
        worst = float(diff.max()) if diff.size else 0.0
        return OutputCheck(name, worst, worst / max(float(np.abs(want).max()) if want.size else 0.0, 1.0), worst == 0)
    g, w = got.astype(np.float64), want.astype(np.float64)
    both_nan = np.isnan(g) & np.isnan(w)
    diff = np.where(both_nan, 0.0, np.abs(g - w))
    diff = np.where(np.isnan(diff), np.inf, diff)
    ok = bool(np.all(diff <= atol + rtol * np.abs(np.nan_to_num(w))))
    worst = float(diff.max()) if diff.size else 0.0
    scale = float(np.nanmax(np.abs(w))) if w.size and not np.all(np.isnan(w)) else 0.0
    return OutputCheck(name, worst, worst / scale if scale > 0 else (0.0 if worst == 0 else math.inf), ok)
