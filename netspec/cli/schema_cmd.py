"""`netspec schema`: the JSON Schema of a spec, for editors (YAML language server) and CI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from .common import output_file


def schema(
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Write to FILE instead of stdout.", callback=output_file)] = None,
) -> None:
    """Print the JSON Schema of netspec specs (every layer type with its parameters and defaults)."""
    from ..schema import spec_schema

    text = json.dumps(spec_schema(), indent=2)
    if output is None:
        typer.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        typer.echo(f"wrote {output}", err=True)
