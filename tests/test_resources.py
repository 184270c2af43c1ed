"""Resource estimates and ceilings: `netspec validate` refuses a 10^12-parameter layer (and a
spec over its own constraints) before anything is allocated; training refuses to start when the
estimate exceeds the free memory, with the numbers."""

from __future__ import annotations

import sys

import pytest

from conftest import run_cli
from netspec.check import check
from netspec.errors import SpecError, SpecErrors, TrainError
from netspec.limits import MAX_PARAMS
from netspec.resources import available_bytes, estimate


def _errors(spec) -> list[SpecError]:
    with pytest.raises(SpecError) as info:
        check(spec)
    return info.value.errors if isinstance(info.value, SpecErrors) else [info.value]


HUGE = """netspec: 1
inputs:
  x: {shape: [1000000]}
model:
  layers:
    - {name: giant, linear: {out_features: 1000000}}
"""


def test_a_trillion_parameter_layer_is_refused_at_validation_without_torch(write_spec):
    spec = write_spec(HUGE)
    code = ("import sys, netspec.cli.app as a\n"
            "try:\n    a.main(['validate', sys.argv[1]])\nexcept SystemExit as e:\n    code = e.code\n"
            "print('torch imported' if 'torch' in sys.modules else 'no torch', code)")
    import subprocess

    proc = subprocess.run([sys.executable, "-c", code, str(spec)], capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip().splitlines()[-1] == "no torch 1", proc.stdout + proc.stderr
    assert f"{spec}:6:7: model.layers[0] (linear 'giant'): the spec has 1,000,001,000,000 parameters, more than " \
           f"netspec's ceiling of {MAX_PARAMS:,}" in proc.stderr
    assert "constraints: {max_params: N}" in proc.stderr


def test_stating_a_larger_constraint_raises_the_ceilings(write_spec):
    spec = write_spec(HUGE + "constraints: {max_params: 2000000000000, max_memory_mb: 100000000}\n")
    checked = check(spec)
    assert checked.graph.params == 1_000_001_000_000
    proc = run_cli("validate", str(write_spec(HUGE + "constraints: {max_params: 2000000000000}\n", "b.yaml")))
    assert proc.returncode == 1 and "training needs an estimated" in proc.stderr and "2.00 TiB" in proc.stderr


def test_memory_over_the_spec_constraint_is_located_at_it(write_spec):
    spec = write_spec("""netspec: 1
inputs: {image: {shape: [3, 64, 64]}}
model:
  layers:
    - conv2d: {out_channels: 32, kernel_size: 3, padding: 1}
    - global_avg_pool
    - linear: {out_features: 10}
train: {batch_size: 256}
constraints: {max_memory_mb: 100}
""")
    (err,) = _errors(spec)
    assert err.path == ("constraints", "max_memory_mb")
    assert "more than max_memory_mb 100" in err.message and "batch size 256" in err.message


def test_huge_activations_hit_the_global_memory_ceiling(write_spec):
    spec = write_spec("""netspec: 1
inputs: {image: {shape: [3, 20000, 20000]}}
model:
  layers:
    - conv2d: {out_channels: 64, kernel_size: 3, padding: 1}
    - global_avg_pool
    - linear: {out_features: 10}
train: {batch_size: 64}
""")
    (err,) = _errors(spec)
    assert err.path == ("train", "batch_size")
    assert "activations 5.96 TiB" in err.message


def test_the_estimate_by_hand():
    """linear 4→3 with Adam at batch 2: 15 parameters."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "s.yaml"
        path.write_text("netspec: 1\ninputs: {x: {shape: [4]}}\nmodel: {layers: [{linear: {out_features: 3}}]}\n"
                        "train: {batch_size: 2, optimizer: adam}\n")
        checked = check(path)
    est = estimate(checked.spec, checked.graphs)
    assert est.params == 15
    assert est.parts == {"weights": 60, "gradients": 60, "optimizer_state": 120, "activations": 3 * 4 * 2, "inputs": 4 * 4 * 2}
    assert est.total == 296


def test_available_memory_is_known_on_linux_cpu():
    import torch

    free = available_bytes(torch.device("cpu"))
    total = int(open("/proc/meminfo").read().split("MemTotal:")[1].split()[0]) * 1024
    assert 0 < free <= total


TRAINABLE = """netspec: 1
inputs: {x: {shape: [100000]}}
model:
  layers:
    - {name: wide, linear: {out_features: 200000}}
    - {name: logits, linear: {out_features: 3}}
data: {source: {type: generated, kind: blobs, num_samples: 8, num_features: 100000, num_classes: 3}}
train: {epochs: 1, batch_size: 4}
"""


def test_training_refuses_to_start_when_the_estimate_exceeds_free_memory(write_spec, tmp_path, monkeypatch):
    """20 billion parameters pass validation (under the ceiling) but no machine here holds them."""
    import netspec.train.session as session
    from netspec.train.api import train_spec

    spec = write_spec(TRAINABLE)
    checked = check(spec)
    need = estimate(checked.spec, checked.graphs).total
    if available_bytes("cpu") >= need:
        pytest.skip("this machine has the memory to train it")
    monkeypatch.setattr(session, "compile_model", lambda *a, **k: pytest.fail("built a model that cannot fit"))
    with pytest.raises(TrainError) as info:
        train_spec(spec, out=tmp_path / "run", checked=checked)
    msg = info.value.message
    assert msg.startswith("training needs an estimated ") and "weights 74.51 GiB" in msg and "is free on cpu" in msg
    proc = run_cli("train", str(spec), "--out", str(tmp_path / "run2"), "--quiet")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"{spec}:8:" in proc.stderr and "is free on cpu" in proc.stderr  # located at train.batch_size


def test_training_checks_against_the_free_memory_it_is_given(write_spec, tmp_path, monkeypatch):
    import netspec.resources as resources
    from netspec.train.api import train_spec

    spec = write_spec(TRAINABLE.replace("200000", "16").replace("100000", "64"))
    monkeypatch.setattr(resources, "available_bytes", lambda device: 1000)  # the data alone (8 KiB) does not fit
    with pytest.raises(TrainError, match=r"the data needs 8.00 KiB in memory, but only 1000 B is free"):
        train_spec(spec, out=tmp_path / "run")
    monkeypatch.setattr(resources, "available_bytes", lambda device: 9000)  # the data fits, the training does not
    with pytest.raises(TrainError, match=r"training needs an estimated .* but only 8.79 KiB is free on cpu"):
        train_spec(spec, out=tmp_path / "run")
    monkeypatch.setattr(resources, "available_bytes", lambda device: 10**9)
    assert train_spec(spec, out=tmp_path / "run").epochs == 1


@pytest.mark.gpu
def test_free_cuda_memory_is_the_device_s():
    import torch

    free = available_bytes(torch.device("cuda"))
    assert 0 < free <= torch.cuda.get_device_properties(0).total_memory
