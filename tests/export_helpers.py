"""Checks shared by the export tests: what every verified export must show."""

from __future__ import annotations

import onnx

from netspec.export.metadata import parse
from netspec.export.samples import EXAMPLE_BATCH, example_sizes


def assert_verified(done, checked, opset: int = 18) -> None:
    """Every model verified at >= 2 batch sizes (and >= 2 sizes of each dynamic dim), all of them
    different from the export's example input; the file has the asked opset, symbolic input axes
    and netspec's metadata."""
    assert done
    for d in done:
        graph = checked.graphs[d.model]
        report = d.report
        assert report is not None and report.ok, [(r.sizes, [(o.name, o.max_abs) for o in r.outputs]) for r in report.runs]
        batches = {r.sizes["batch"] for r in report.runs}
        assert len(batches) >= 2 and EXAMPLE_BATCH not in batches
        example = example_sizes(graph)
        for dim in {n for axes in d.dynamic_axes.values() for n in axes.values()} - {"batch"}:
            seen = {r.sizes[dim] for r in report.runs}
            assert len(seen) >= 2 and example[dim] not in seen, (dim, seen, example[dim])
        proto = onnx.load(str(d.path), load_external_data=False)
        assert next(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")) == opset
        dims = {i.name: i.type.tensor_type.shape.dim for i in proto.graph.input}
        for name, axes in d.dynamic_axes.items():
            if name in dims:
                assert all(dims[name][a].dim_param for a in axes), (name, axes)
        meta = parse({p.key: p.value for p in proto.metadata_props})
        assert meta["model"] == d.model and len(meta["spec_sha256"]) == 64
        assert set(meta["inputs"]) == set(graph.inputs) and set(meta["outputs"]) == {n for n, _ in graph.outputs}
