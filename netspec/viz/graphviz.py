"""Run Graphviz's ``dot`` to turn DOT text into SVG or PNG bytes."""

from __future__ import annotations

import shutil
import subprocess

from ..errors import NetspecError

INSTALL_HINT = ("install Graphviz, which provides the `dot` program: `sudo apt-get install graphviz` (Debian/Ubuntu), "
                "`brew install graphviz` (macOS), `conda install -c conda-forge graphviz`, or see "
                "https://graphviz.org/download/ — or use --format mermaid or --format dot, which need nothing")


class GraphvizMissing(NetspecError):
    """`dot` is not on PATH."""


class GraphvizFailed(NetspecError):
    """`dot` ran and failed."""


def render_dot(text: str, fmt: str, timeout: float = 300) -> bytes:
    exe = shutil.which("dot")
    if exe is None:
        raise GraphvizMissing(f"--format {fmt} needs Graphviz's `dot` program, which is not installed (not on PATH)",
                              hint=INSTALL_HINT)
    proc = subprocess.run([exe, f"-T{fmt}"], input=text.encode("utf-8"), capture_output=True, timeout=timeout)
    if proc.returncode != 0:
        raise GraphvizFailed(f"Graphviz `dot -T{fmt}` failed: {proc.stderr.decode('utf-8', 'replace').strip()}")
    return proc.stdout
