"""`netspec diff A B`: what changed in the architecture (nodes added, removed, changed; Δparams, ΔFLOPs)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .common import JsonOpt, SetOpt, user_errors
from .output import print_json


def diff(
    a: Annotated[Path, typer.Argument(help="The spec before.", show_default=False)],
    b: Annotated[Path, typer.Argument(help="The spec after.", show_default=False)],
    set_: SetOpt = None,
    json_: JsonOpt = False,
    exit_code: Annotated[bool, typer.Option(
        "--exit-code", help="Exit 4 when the architectures differ (like git diff --exit-code).")] = False,
) -> None:
    """Compare two specs' architectures node by node (not their text). --set applies to both."""
    from ..check import check
    from ..diff import diff_specs, is_same

    with user_errors(str(a)):
        ca = check(a, set_ or [])
    with user_errors(str(b)):
        cb = check(b, set_ or [])
    d = diff_specs(ca, cb)
    if json_:
        print_json(d)
    else:
        typer.echo(render(d))
    if exit_code and not is_same(d):
        raise typer.Exit(4)


def _num(n: int) -> str:
    return f"{n:,}"


def _signed(n: int) -> str:
    return f"{n:+,}"


def _shape(s) -> str:
    if s is None:
        return "—"
    if s and isinstance(s[0], list):
        return " ".join(_shape(x) for x in s)
    return "(" + ", ".join(map(str, s)) + ("," if len(s) == 1 else "") + ")"


def _value(key: str, v) -> str:
    if key == "output_shape":
        return _shape(v)
    if isinstance(v, int) and not isinstance(v, bool) and key in ("params", "flops"):
        return _num(v)
    return str(v)


def render(d: dict) -> str:
    name = lambda s: f"{s['name'] or Path(s['file']).stem} ({s['file']})"  # noqa: E731
    lines = [f"{name(d['a'])} → {name(d['b'])}",
             f"params: {_num(d['params'][0])} → {_num(d['params'][1])} (Δ {_signed(d['delta_params'])})",
             f"FLOPs:  {_num(d['flops'][0])} → {_num(d['flops'][1])} (Δ {_signed(d['delta_flops'])})"]
    lines += [f"+ model {m}" for m in d["models_added"]] + [f"- model {m}" for m in d["models_removed"]]
    several = len(d["models"]) > 1
    for model, m in d["models"].items():
        lines.append("")
        head = f"model {model}: " if several else "nodes: "
        lines.append(head + f"{len(m['added'])} added, {len(m['removed'])} removed, {len(m['changed'])} changed, "
                     f"{m['unchanged']} unchanged" + (f"; params Δ {_signed(m['delta_params'])}" if several else ""))
        for k, (x, y) in m["inputs"].items():
            lines.append(f"~ input {k}: {_shape(x)} → {_shape(y)}")
        for k, (x, y) in m["outputs"].items():
            lines.append(f"~ output {k}: {_shape(x)} → {_shape(y)}")
        for n in m["removed"]:
            lines.append(f"- {n['name']}  {n['type']}  {_shape(n['output_shape'])}  {_num(n['params'])} params")
        for n in m["added"]:
            lines.append(f"+ {n['name']}  {n['type']}  {_shape(n['output_shape'])}  {_num(n['params'])} params")
        for n in m["changed"]:
            parts = [f"{k} {_value(k, x)} → {_value(k, y)}" for k, (x, y) in n["changes"].items()]
            lines.append(f"~ {n['name']}  {n['type']}: " + "; ".join(parts))
    return "\n".join(lines)
