"""The small public API of `import netspec`."""

from __future__ import annotations

import importlib
import subprocess
import sys

import torch

import netspec
from conftest import ROOT, SPECS


def test_import_is_light_and_lazy():
    code = "import sys, netspec; print('torch' in sys.modules, 'netspec.check' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.split() == ["False", "False"], out.stderr


def test_api_round_trip():
    assert netspec.__version__
    graph = netspec.build_graph(str(SPECS / "lenet5.yaml"))
    assert graph.params == 61706
    model = netspec.compile_model(graph, seed=0)
    assert model(torch.randn(2, 1, 28, 28)).shape == (2, 10)
    assert netspec.check_spec(SPECS / "mlp.yaml").spec.name == "mlp"
    importlib.import_module("netspec.train")  # the subpackage: API names must not collide with it
    assert callable(netspec.train_spec) and callable(netspec.export_onnx) and callable(netspec.load_spec)


def test_every_torch_backed_module_imports_first():
    """Any entry module must import on its own (no import-order dependence, no cycles)."""
    for module in ("netspec.compiler", "netspec.init", "netspec.train.api", "netspec.export", "netspec.check"):
        out = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True, cwd=ROOT)
        assert out.returncode == 0, f"{module}: {out.stderr[-500:]}"
