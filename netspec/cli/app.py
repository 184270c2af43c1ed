"""The `netspec` command: one module per command, registered here."""

from __future__ import annotations

import errno
import sys
import traceback
from typing import Annotated, Optional

import typer

from ..errors import NetspecError
from . import (
    data_cmd,
    diff_cmd,
    evaluate_cmd,
    export_cmd,
    generate_cmd,
    graph_cmd,
    layers_cmd,
    predict_cmd,
    render_cmd,
    report_cmd,
    sample_cmd,
    schema_cmd,
    summary_cmd,
    train_cmd,
    tune_cmd,
    validate_cmd,
)
from .output import EXIT_INTERNAL, EXIT_INVALID, EXIT_USAGE, debug_enabled, fail

app = typer.Typer(
    name="netspec",
    help="Describe a neural network in YAML; validate it, inspect it, train it and export it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def _options(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks (also NETSPEC_DEBUG=1).")] = False,
    plugin: Annotated[Optional[list[str]], typer.Option(
        "--plugin", help="Import MODULE to register custom layers (explicitly enabled plugins only).")] = None,
) -> None:
    import os

    if debug:
        os.environ["NETSPEC_DEBUG"] = "1"
    for module in plugin or []:
        from ..layers.registry import load_plugin

        try:
            load_plugin(module)
        except ImportError as exc:
            raise typer.BadParameter(f"cannot import plugin {module!r}: {exc}", param_hint="--plugin") from None
        except Exception as exc:  # noqa: BLE001 - a plugin's own bug (SyntaxError, a tag registered twice, ...)
            raise typer.BadParameter(f"plugin {module!r} failed while loading: {type(exc).__name__}: {exc}",
                                     param_hint="--plugin") from None


app.command("validate")(validate_cmd.validate)
app.command("summary")(summary_cmd.summary)
app.command("layers")(layers_cmd.layers)
app.command("schema")(schema_cmd.schema)
app.command("render")(render_cmd.render)
app.command("train")(train_cmd.train)
app.command("tune")(tune_cmd.tune)
app.command("evaluate")(evaluate_cmd.evaluate)
app.command("predict")(predict_cmd.predict)
app.command("export")(export_cmd.export)
app.command("generate")(generate_cmd.generate)
app.command("sample")(sample_cmd.sample)
app.command("graph")(graph_cmd.graph)
app.command("diff")(diff_cmd.diff)
app.command("report")(report_cmd.report)
app.command("compare")(report_cmd.compare)
app.add_typer(data_cmd.data_app, name="data")


def console() -> None:
    """The `netspec` console script: ``main`` in a process that ends without interpreter teardown."""
    from .process_exit import run

    run(main)


def main(argv: Optional[list[str]] = None) -> None:
    """Entry point: user errors become diagnostics (exit 1), bugs a one-line report (exit 3)."""
    try:
        app(args=argv, standalone_mode=True)
    except SystemExit:
        raise
    except NetspecError as exc:  # raised outside a command's own handling (e.g. a plugin)
        if debug_enabled():
            raise
        raise SystemExit(fail(exc).exit_code) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except (OSError, ValueError) as exc:
        if debug_enabled():
            raise
        problem = unusable_path(exc)
        if problem is not None:
            print(f"netspec: {problem}\n  hint: give a path the file system can hold", file=sys.stderr)
            raise SystemExit(EXIT_USAGE) from None
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
            where = f" {exc.filename}" if exc.filename else ""
            print(f"netspec: cannot write{where}: {exc.strerror or exc}\n  hint: free space (or choose a writable "
                  "--out); files are replaced whole, so checkpoints written so far are intact and --resume "
                  "continues from the last one", file=sys.stderr)
            raise SystemExit(EXIT_INVALID) from None
        raise _internal(exc) from None
    except Exception as exc:  # noqa: BLE001 - the last line of defence: never a traceback
        raise _internal(exc) from None


def unusable_path(exc: BaseException) -> Optional[str]:
    """The message for a path no file can have (too long, a NUL byte, a symlink loop), else None:
    such a path can only come from the user's command line or spec, so it is a usage error."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENAMETOOLONG, errno.ELOOP) and exc.filename is not None:
        name = str(exc.filename)
        return f"{name[:80] + '...' if len(name) > 80 else name}: {exc.strerror.lower() if exc.strerror else exc}"
    if isinstance(exc, ValueError) and "embedded null byte" in str(exc):
        return "a path contains a NUL byte (\\x00)"
    return None


def _internal(exc: BaseException) -> BaseException:
    """The last line of defence: a one-line report and exit 3, never a traceback (--debug shows it)."""
    if debug_enabled():
        return exc
    print(f"netspec: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
    print("  hint: rerun with --debug for a traceback, and please report it", file=sys.stderr)
    last = traceback.extract_tb(exc.__traceback__)[-1:]
    if last:
        print(f"  at {last[0].filename}:{last[0].lineno}", file=sys.stderr)
    return SystemExit(EXIT_INTERNAL)
