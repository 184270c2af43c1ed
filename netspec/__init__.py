"""netspec: describe a neural network in YAML; validate it, compile it to PyTorch, train it, and
export ONNX verified against PyTorch.

The public API (imported lazily, so ``import netspec`` stays light and torch-free until a
torch-backed function is used)::

    import netspec

    checked = netspec.check_spec("specs/lenet5.yaml", ["model.layers[0].conv2d.out_channels=8"])
    graph = netspec.build_graph("specs/lenet5.yaml")          # the model's graph IR (shapes, costs)
    model = netspec.compile_model(graph, seed=0)               # a torch.nn.Module
    result = netspec.train_spec("examples/digits_mlp.yaml")     # a run directory with checkpoints
    netspec.export_onnx("specs/lenet5.yaml", out="lenet5.onnx")  # verified against PyTorch

Errors are ``netspec.errors.NetspecError`` subclasses carrying spec paths (see netspec.errors).
"""

from __future__ import annotations

from typing import Any

_API = {
    "load_spec": ("netspec.spec.load", "load_spec"),
    "check_spec": ("netspec.check", "check"),
    "compile_model": ("netspec.compiler", "compile_model"),
    "train_spec": ("netspec.train.api", "train_spec"),
    "export_onnx": ("netspec.export", "export_spec"),
}

__all__ = ["__version__", "build_graph", *_API]


def build_graph(path: str, overrides: list[str] | tuple[str, ...] = (), model: str | None = None):
    """The graph IR of a spec's model (or of ``model`` in a multi-model spec)."""
    from .check import check

    graphs = check(path, overrides).graphs
    return graphs[model] if model is not None else next(iter(graphs.values()))


def _version() -> str:
    from .distribution import version

    return version()


def __getattr__(name: str) -> Any:
    if name == "__version__":
        return _version()
    if name in _API:
        from importlib import import_module

        module, attr = _API[name]
        return getattr(import_module(module), attr)
    raise AttributeError(f"module 'netspec' has no attribute {name!r}")
