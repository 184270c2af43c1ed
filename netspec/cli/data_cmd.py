"""`netspec data shards SRC OUT`: convert an image folder into WebDataset tar shards."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .common import JsonOpt, output_folder
from .output import print_json
from .report_cmd import run_errors

data_app = typer.Typer(help="Convert datasets into the formats netspec reads at scale.", no_args_is_help=True,
                       rich_markup_mode=None)


@data_app.command("shards")
def shards(
    src: Annotated[Path, typer.Argument(help="An image folder with one sub-folder per class.", show_default=False,
                                        metavar="SRC")],
    out: Annotated[Path, typer.Argument(help="The folder to write the shards into (new or without shards).",
                                        show_default=False, metavar="OUT", callback=output_folder)],
    shard_size: Annotated[int, typer.Option("--shard-size", min=1, help="Samples per shard.")] = 1000,
    prefix: Annotated[str, typer.Option("--prefix", help="Shard names: PREFIX-000000.tar, ...",
                                        callback=_plain_name)] = "shard",
    json_: JsonOpt = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
) -> None:
    """Convert an image folder into WebDataset tar shards; prints what it wrote.

    The images of SRC (file bytes as they are) and their class indices go into tar shards in WebDataset's
    format (`<key>.jpg` + `<key>.cls`), with `classes.txt` naming the classes. Read them with
    `data.source: {type: shards, path: 'OUT/PREFIX-{000000..000009}.tar'}`."""
    from ..data.progress import reporting
    from ..data.shard_writer import write_shards

    def say(line: str) -> None:
        typer.echo(f"netspec: {line}", err=True)

    with run_errors("data shards"), reporting(None if quiet else say):
        done = write_shards(src, out, shard_size, prefix)
    if json_:
        print_json(done.__dict__)
        return
    size = done.bytes / 2**20
    typer.echo(f"wrote {len(done.shards):,} shards, {done.samples:,} samples, {size:,.1f} MiB ({done.bytes:,} bytes), "
               f"{len(done.classes)} classes ({', '.join(done.classes[:8])}{', ...' if len(done.classes) > 8 else ''})")
    typer.echo(f"  {Path(done.folder) / done.pattern}")
    typer.echo(f"  {Path(done.folder) / 'classes.txt'}")
    typer.echo(f"read them with: data.source: {{type: shards, path: '{Path(done.folder) / done.pattern}'}}")


def _plain_name(value: str) -> str:
    """--prefix names files inside OUT: letters, digits, '.', '_' and '-', not starting with '.'
    (``../../etc/passwd`` reached outside OUT)."""
    if not value or value.startswith(".") or any(not (c.isalnum() or c in "._-") for c in value):
        raise typer.BadParameter(f"{value!r} is not a plain file-name prefix; use letters, digits, '.', '_' and '-' "
                                 "(e.g. train)")
    return value
