"""Acceptance: the digits model trained by the README command, exported with `netspec export` and
run in onnxruntime, classifies the validation split with exactly PyTorch's predictions — also when
the raw pixels are normalized with nothing but the constants stored in the ONNX file."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import torch

from conftest import EXAMPLES, ROOT, run_cli
from netspec.check import check
from netspec.checkpoint import load_checkpoint, rebuild_models
from netspec.data import prepare_data, read_table
from netspec.data.split import split_table
from netspec.export.metadata import parse, spec_hash
from netspec.train.session import resolve_plan

SPEC = EXAMPLES / "digits_mlp.yaml"


def test_trained_digits_model_predicts_the_same_in_onnxruntime(tmp_path):
    run_dir, onnx_path = tmp_path / "run", tmp_path / "digits.onnx"
    trained = run_cli("train", "examples/digits_mlp.yaml", "--epochs", "3", "--out", str(run_dir), "--json")
    assert trained.returncode == 0, trained.stderr
    assert json.loads(trained.stdout.strip().splitlines()[-1])["run_dir"] == str(run_dir)
    exported = run_cli("export", "examples/digits_mlp.yaml", "--onnx", "--checkpoint", str(run_dir), "-o", str(onnx_path),
                       "--json")
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout)["exports"][0]["verified"] is True

    ckpt = load_checkpoint(run_dir)
    checked = check(SPEC)
    bundle = prepare_data(checked.spec, resolve_plan(checked), checked.graph, ROOT / "examples", state=ckpt["preprocess"])
    x_val, y_val = bundle.arrays["val"]["features"], bundle.arrays["val"]["target"]
    assert len(x_val) == 359  # 20% of the 1,797 digits (stratified)

    model = rebuild_models(ckpt)["model"]
    with torch.no_grad():
        torch_pred = model(torch.from_numpy(x_val)).argmax(1).numpy()
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    (logits,) = session.run(None, {"features": x_val})
    np.testing.assert_array_equal(logits.argmax(1), torch_pred)
    assert (torch_pred == y_val).mean() > 0.8  # a trained model, not a constant

    # a deployer normalizes raw pixels with the file's own metadata
    meta = parse({p.key: p.value for p in onnx.load(str(onnx_path)).metadata_props})
    assert meta["classes"] == [str(i) for i in range(10)]
    assert meta["weights"]["state"] == "trained" and meta["weights"]["epoch"] == 3
    assert meta["spec_sha256"] == spec_hash(meta["spec"]) and meta["inputs"] == {"features": {"shape": [64], "dtype": "float32"}}
    scale, offset = (np.asarray(meta["preprocess"]["features"][k], np.float64) for k in ("scale", "offset"))
    raw = split_table(checked.spec.data.split, read_table(checked.spec, ROOT / "examples", True), None)["val"]
    x_raw = raw.fields["features"].astype(np.float64)
    normalized = (x_raw * scale + offset).astype(np.float32)
    np.testing.assert_allclose(normalized, x_val, atol=1e-5)
    (logits_raw,) = session.run(None, {"features": normalized})
    np.testing.assert_array_equal(logits_raw.argmax(1), torch_pred)
