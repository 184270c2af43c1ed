"""Write one model of a checked spec: compile it (with the checkpoint's weights, if any), export it
and verify it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from ..check import Checked
from ..errors import raise_all
from ..graph import Graph
from ..render import resolved_text
from ..spec.export import BATCH
from . import guards, samples
from .guards import dynamic_symbols
from .metadata import build_metadata
from .result import ModelExport


class Writer:
    def __init__(self, checked: Checked, ckpt: Optional[dict[str, Any]], plan: Any) -> None:
        self.checked, self.ckpt, self.plan = checked, ckpt, plan
        self.spec_text = resolved_text(checked)
        train = checked.spec.train
        self.seed = getattr(train, "seed", 0) if train is not None else 0

    def write(self, name: str, path: Path, fmt: str):
        graph = self.checked.graphs[name]
        model = self._model(name, graph)
        dynamic = dynamic_symbols(graph, self.plan.dynamic)
        axes = input_axes(graph, dynamic)
        meta = build_metadata(self.spec_text, name, graph, axes, self.ckpt, self._preprocess_options(), self.seed)
        if fmt == "safetensors":
            from .weights import save_weights

            save_weights(model, path, meta)
            spec_file = path.with_suffix(".yaml")
            spec_file.write_text(self.spec_text, encoding="utf-8")
            return ModelExport(name, path, fmt, spec_file=spec_file)
        raise_all(list(guards.check_dynamic_axes(graph, dynamic)))
        result = self._onnx(model, graph, dynamic, axes, meta, path)
        done = ModelExport(name, path, fmt, result.opset, result.exporter, axes, notes=result.notes)
        if self.plan.verify.enabled:
            from .verify import verify

            runs = samples.verification_sets(graph, dynamic, self.plan.verify)
            done.report = verify(path, model, [inputs for _, inputs in runs], self.plan.verify.atol,
                                 self.plan.verify.rtol, sizes=[sizes for sizes, _ in runs])
            if not done.report.ok:
                failed = path.with_name(path.name.removesuffix(".onnx") + ".unverified.onnx")
                path.replace(failed)
                done.path = done.report.path = failed
        return done

    def _model(self, name: str, graph: Graph):
        from ..compiler import compile_model

        model = compile_model(graph, seed=self.seed)
        if self.ckpt is not None:
            from ..checkpoint import check_same_models, load_weights

            check_same_models(self.checked, self.ckpt, [name])
            load_weights(model, self.ckpt, name)
        return model.eval()

    def _onnx(self, model, graph: Graph, dynamic: set[str], axes: dict, meta: dict, path: Path):
        from .onnx import UnsupportedOpError, export_module

        example = samples.example_inputs(graph, dynamic)
        try:
            return export_module(model, list(example.values()), list(example), model.output_names, path,
                                 dynamic_axes=axes, opset=self.plan.opset, metadata=meta,
                                 dynamic_outputs=output_axes(graph, dynamic))
        except UnsupportedOpError as exc:
            from .locate import node_running

            node = node_running(model, graph, list(example.values()), exc.op)
            if node is not None:
                exc.path, exc.context, exc.notes = node.path, node.context, list(node.notes)
            raise

    def _preprocess_options(self) -> Optional[dict]:
        data = self.checked.spec.data
        return data.preprocess.model_dump(mode="json", exclude_none=True) if data is not None else None


def input_axes(graph: Graph, dynamic: set[str]) -> dict[str, dict[int, str]]:
    """{input: {axis: name}}: axis 0 is the batch; symbolic dims keep their names."""
    out = {}
    for name, t in graph.inputs.items():
        axes = {0: BATCH} if BATCH in dynamic else {}
        axes.update({i + 1: d for i, d in enumerate(t.shape) if isinstance(d, str) and d in dynamic})
        if axes:
            out[name] = axes
    return out


def output_axes(graph: Graph, dynamic: set[str]) -> dict[str, dict[int, str]]:
    """The output axes that must come out dynamic: the batch and every dim derived from a dynamic one."""
    from ..graph.infer import infer

    inputs = guards.partial_inputs(graph, dynamic)
    produced = infer(graph, inputs, None, record="none")
    out = {}
    for name, value in graph.outputs:
        t = inputs[value[1]] if value[0] == "input" else produced.get(value[1], [None])[value[2] or 0]  # type: ignore[misc]
        if t is None:
            continue
        axes = {0: BATCH} if BATCH in dynamic else {}
        axes.update({i + 1: str(d) for i, d in enumerate(t.shape) if isinstance(d, str)})
        if axes:
            out[name] = axes
    return out
