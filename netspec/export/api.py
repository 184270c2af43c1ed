"""``netspec export``: a spec's model(s) to verified ONNX files, or to safetensors weights.

``export_spec(path, overrides, checkpoint=, out=, fmt=, opset=, dynamic=, models=, verify=,
atol=, rtol=)`` returns one ModelExport per model. Options come from the spec's ``export:``
section; arguments that are not None override them. Without a checkpoint the freshly initialized
model is exported (seeded like training), which proves in CI that a spec exports.

A file that fails verification is renamed ``NAME.unverified.onnx`` (never left where a verified
file is expected) and a VerificationError carrying every ModelExport is raised.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Optional

from ..check import Checked, check
from ..checkpoint import describe, load_checkpoint
from ..errors import ExportError, NetspecError, SpecError, SpecErrors, raise_all
from ..paths import file_stem
from ..spec.export import BATCH, ExportSpec, VerifySpec, unknown_dim
from .guards import symbolic_dims
from .result import ModelExport, VerificationError
from .writer import Writer

FORMATS = ("onnx", "safetensors")


@dataclass
class Plan:
    models: list[str]
    opset: int
    dynamic: Optional[list[str]]
    verify: VerifySpec


def export_spec(path: str | Path, overrides: Iterable[str] = (), *, checkpoint: Optional[str | Path] = None,
                out: Optional[str | Path] = None, fmt: str = "onnx", opset: Optional[int] = None,
                dynamic: Optional[list[str]] = None, models: Optional[list[str]] = None, verify: Optional[bool] = None,
                atol: Optional[float] = None, rtol: Optional[float] = None) -> list[ModelExport]:
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}", path=("--format",), hint=f"one of: {', '.join(FORMATS)}")
    checked = check(path, list(overrides))
    try:
        ckpt = load_checkpoint(checkpoint) if checkpoint is not None else None
        plan = make_plan(checked, models, opset, dynamic, verify, atol, rtol)
        writer = Writer(checked, ckpt, plan)
        paths = output_paths(checked, plan.models, out, ".onnx" if fmt == "onnx" else ".safetensors")
        done = [writer.write(name, paths[name], fmt) for name in plan.models]
        if ckpt is not None:  # which file and epoch the weights are from (a run directory: the reported ones)
            for e in done:
                e.notes.insert(0, f"weights from {describe(ckpt)}")
    except NetspecError as exc:
        raise located(exc, checked) from None
    failed = [e for e in done if e.verified is False]
    if failed:
        worst = failed[0].report.worst()  # type: ignore[union-attr]
        raise located(VerificationError(
            f"{failed[0].path.name}: onnxruntime differs from PyTorch on output {worst.name!r} by {worst.max_abs:.3g} "
            f"(atol {plan.verify.atol:g}, rtol {plan.verify.rtol:g})", done,
            path=("--atol",) if atol is not None else ("export", "onnx", "verify") if checked.spec.export else (),
            hint="the file was kept for inspection; raise the tolerance only if the difference is expected"), checked)
    return done


def make_plan(checked: Checked, models: Optional[list[str]], opset: Optional[int], dynamic: Optional[list[str]],
              verify: Optional[bool], atol: Optional[float], rtol: Optional[float]) -> Plan:
    spec: ExportSpec = checked.spec.export or ExportSpec()
    errors: list[NetspecError] = []
    for name in models or []:
        if name not in checked.graphs:
            errors.append(SpecError(f"no model named {name!r}", path=("--model",),
                                    hint=f"the spec's models: {', '.join(checked.graphs)}"))
    chosen = list(models or spec.models or checked.graphs)
    known = [BATCH] + [d for n in chosen if n in checked.graphs for d in symbolic_dims(checked.graphs[n])]
    for name in dynamic or []:
        if name not in known:
            errors.append(SpecError(unknown_dim(name, known), path=("--dynamic",)))
    raise_all(errors)
    options = spec.onnx.verify
    update: dict[str, Any] = {k: v for k, v in (("enabled", verify), ("atol", atol), ("rtol", rtol)) if v is not None}
    return Plan(chosen, opset if opset is not None else spec.onnx.opset,
                dynamic if dynamic is not None else spec.onnx.dynamic, options.model_copy(update=update))


def output_paths(checked: Checked, names: list[str], out: Optional[str | Path], suffix: str) -> dict[str, Path]:
    """One file per model: OUT itself for one model; for several, OUT is a folder (or a name that
    gets ``-MODEL`` before its suffix). The default is NAME[-MODEL].SUFFIX in the current folder."""
    stem = file_stem(checked.spec.name or Path(checked.loaded.file).stem)  # never a path from the spec (paths.py)
    several = len(names) > 1
    tagged = several or checked.spec.model is None
    default = {n: Path(f"{stem}-{n}{suffix}" if tagged else f"{stem}{suffix}") for n in names}
    if out is None:
        return default
    out = Path(out)
    if out.is_dir() or str(out).endswith(("/", "\\")) or (several and not out.suffix):
        return {n: out / p for n, p in default.items()}
    if several:
        return {n: out.with_name(f"{out.stem}-{n}{out.suffix}") for n in names}
    return {names[0]: out}


def located(exc: NetspecError, checked: Checked) -> NetspecError:
    """Attach the spec's source map so the CLI can show file:line:col."""
    exc.source = exc.source or checked.loaded.source
    for e in exc.errors if isinstance(exc, SpecErrors) else []:
        e.source = e.source or checked.loaded.source
    return exc
