"""`netspec export SPEC --onnx`: verified ONNX files (or `--format safetensors` weights)."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from .common import JsonOpt, SetOpt, SpecArg, output_file_or_folder, user_errors


class ExportFormat(str, Enum):
    onnx = "onnx"
    safetensors = "safetensors"


def export(
    spec: SpecArg,
    onnx: Annotated[bool, typer.Option("--onnx", help="Write ONNX (the default format).")] = False,
    format_: Annotated[Optional[ExportFormat], typer.Option(
        "--format", help="onnx, or safetensors (the weights alone, with the resolved spec beside them).")] = None,
    checkpoint: Annotated[Optional[Path], typer.Option(
        "--checkpoint", help="Trained weights: a checkpoint or run directory (default: the freshly initialized model).")] = None,
    out: Annotated[Optional[Path], typer.Option(
        "-o", "--out", help="Output file (a folder, or a name that gets -MODEL, for several models).",
        callback=output_file_or_folder)] = None,
    opset: Annotated[Optional[int], typer.Option("--opset", min=9, max=23, help="ONNX opset (default 18).")] = None,
    dynamic: Annotated[Optional[str], typer.Option(
        "--dynamic", help="Axes left dynamic, comma-separated: batch and symbolic dims (e.g. batch,seq); `none` for none.")] = None,
    model: Annotated[Optional[list[str]], typer.Option("--model", help="Export only this model (repeatable).")] = None,
    verify: Annotated[Optional[bool], typer.Option(
        "--verify/--no-verify", help="Check the file in onnxruntime against PyTorch (default: on).")] = None,
    atol: Annotated[Optional[float], typer.Option("--atol", min=0, help="Absolute tolerance (default 1e-4).")] = None,
    rtol: Annotated[Optional[float], typer.Option("--rtol", min=0, help="Relative tolerance (default 0).")] = None,
    set_: SetOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Export a spec's model(s): ONNX verified against PyTorch in onnxruntime, or safetensors weights."""
    fmt = format_ or ExportFormat.onnx
    if onnx and fmt is not ExportFormat.onnx:
        raise typer.BadParameter("--onnx and --format safetensors exclude each other", param_hint="--format")
    axes = None if dynamic is None else [a.strip() for a in dynamic.split(",") if a.strip() and a.strip() != "none"]
    from ..export import VerificationError, export_spec

    with user_errors(str(spec)):
        try:
            done = export_spec(spec, set_ or [], checkpoint=checkpoint, out=out, fmt=fmt.value, opset=opset,
                               dynamic=axes, models=model, verify=verify, atol=atol, rtol=rtol)
        except VerificationError as exc:
            _report(exc.exports, json_)  # the numbers first, then the diagnostic (exit 1)
            raise
    _report(done, json_)


def _report(done: list, json_: bool) -> None:
    if json_:
        typer.echo(json.dumps({"ok": all(d.verified is not False for d in done),
                               "exports": [d.as_dict() for d in done]}))
        return
    for d in done:
        typer.echo(_headline(d))
        for note in d.notes:
            typer.echo(f"  note: {note}")
        if d.report is not None:
            typer.echo(f"  checked with onnx.checker (full), then onnxruntime vs PyTorch "
                       f"(atol {d.report.atol:g}, rtol {d.report.rtol:g}):")
            typer.echo(f"    {'run':<28} {'output':<24} {'max abs':>10} {'max rel':>10}  ok")
            for r in d.report.runs:
                run = ", ".join(f"{k} {v}" for k, v in r.sizes.items())
                for o in r.outputs:
                    typer.echo(f"    {run:<28} {o.name:<24} {o.max_abs:>10.2e} {o.max_rel:>10.2e}  "
                               f"{'yes' if o.ok else 'NO'}{'  ' + o.note if o.note else ''}")


def _headline(d) -> str:
    if d.format == "safetensors":
        return f"wrote {d.path} (model {d.model!r}, weights; spec in {d.spec_file})"
    axes = sorted({name for axes in d.dynamic_axes.values() for name in axes.values()})
    state = {True: "verified", False: "NOT verified", None: "not verified (--no-verify)"}[d.verified]
    via = "" if d.exporter == "dynamo" else f", {d.exporter} exporter"
    return (f"wrote {d.path} (model {d.model!r}, opset {d.opset}{via}, dynamic: {', '.join(axes) or 'none'}; {state})")
