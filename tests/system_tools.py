"""Test helper: a system program (Chromium, Graphviz's dot) installed from the system's packages
when missing, or a pytest skip that says why it cannot be."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest


def ensure_tool(names: tuple[str, ...], package: str) -> str:
    for name in names:
        if shutil.which(name):
            return shutil.which(name)  # type: ignore[return-value]
    if shutil.which("apt-get") is None or not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip(f"{names[0]} is not installed and cannot be installed here (needs root and apt-get): "
                    f"apt-get install -y {package}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update"], capture_output=True, env=env, timeout=600)
    proc = subprocess.run(["apt-get", "install", "-y", package], capture_output=True, text=True, env=env, timeout=900)
    for name in names:
        if shutil.which(name):
            return shutil.which(name)  # type: ignore[return-value]
    pytest.skip(f"installing {package} failed (apt-get install -y {package}): {proc.stderr.strip()[-300:]}")
