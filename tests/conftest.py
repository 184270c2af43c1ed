"""Shared fixtures and helpers. The default run is CPU-only and fast; `slow`, `gpu` and `fuzz`
tests are opt-in (see pyproject's markers)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "specs"
EXAMPLES = ROOT / "examples"
BAD = Path(__file__).resolve().parent / "specs" / "bad"

os.environ.setdefault("OMP_NUM_THREADS", "1")


def pytest_collection_modifyitems(config, items):
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:  # pragma: no cover
        has_cuda = False
    if not has_cuda:
        skip = pytest.mark.skip(reason="needs a CUDA device")
        for item in items:
            if "gpu" in item.keywords:
                item.add_marker(skip)


def run_cli(*args: str, cwd: Path = ROOT, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run `python -m netspec ARGS` in a fresh process (exit codes and streams as a user sees them)."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("NETSPEC_DEBUG", None) if env is None or "NETSPEC_DEBUG" not in env else None
    return subprocess.run([sys.executable, "-m", "netspec", *args], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture
def write_spec(tmp_path):
    """Write a spec text to a file and return its path."""

    def write(text: str, name: str = "spec.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write
