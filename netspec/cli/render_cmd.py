"""`netspec render SPEC`: print the canonical, fully resolved spec (blocks expanded)."""

from __future__ import annotations

import typer

from .common import SetOpt, SpecArg, user_errors


def render(spec: SpecArg, set_: SetOpt = None) -> None:
    """Print the spec in canonical form: every node named and wired, every parameter explicit."""
    from ..check import check
    from ..render import canonical, to_yaml

    with user_errors(str(spec)):
        checked = check(spec, set_ or [])
    typer.echo(to_yaml(canonical(checked)), nl=False)
