"""bench/gpu: the reference models against the specs (parameter counts at full size, the same
function with copied weights), the loss-curve comparison, the peak table, the results files, and
CPU smoke runs of both scripts at tiny sizes. The real runs are the gpu-marked tests at the end."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest
import torch

from conftest import ROOT, SPECS
from netspec.check import check
from netspec.compiler import compile_model

BENCH = ROOT / "bench" / "gpu"


def _load(name: str, as_name: str):
    """A bench script as a module (the scripts import ``common`` by that name)."""
    spec = importlib.util.spec_from_file_location(as_name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[as_name] = module
    spec.loader.exec_module(module)
    return module


common = _load("common", "common")
gpt2, resnet50 = _load("gpt2", "bench_gpu_gpt2"), _load("resnet50", "bench_gpu_resnet50")


# ---- the references ------------------------------------------------------------------------------

def test_gpt2_reference_has_the_specs_124m_parameters():
    with torch.device("meta"):
        ref = gpt2.GPT(**{k: v for k, v in gpt2.CONFIGS["full"].items() if k != "samples"})
    assert gpt2.count_params(ref) == check(SPECS / "gpt2_small.yaml").graph.params == 124_439_808


def test_resnet50_reference_has_the_specs_parameters():
    with torch.device("meta"):
        ref = resnet50.ResNet50()
    assert resnet50.count_params(ref) == check(SPECS / "resnet50.yaml").graph.params == 25_557_032


@pytest.mark.parametrize("pad", [0, 64])
def test_gpt2_reference_computes_the_spec_with_copied_weights(pad):
    cfg = gpt2.CONFIGS["tiny"]
    over = gpt2.overrides(cfg, 2, torch.device("cpu"), [])
    graph = check(SPECS / "gpt2_small.yaml", [o for o in over if not o.startswith(("data=", "train="))]).graph
    ours = compile_model(graph, seed=0)
    ref = gpt2.GPT(cfg["n_layer"], cfg["n_head"], cfg["n_embd"], cfg["vocab"], cfg["block"], pad_multiple=pad)
    gpt2.copy_from_netspec(ref, ours.state_dict(), cfg["n_layer"])
    tokens = torch.randint(0, cfg["vocab"], (3, cfg["block"]), generator=torch.Generator().manual_seed(0))
    assert torch.allclose(ours(tokens), ref(tokens), atol=1e-5)
    other = gpt2.GPT(cfg["n_layer"], cfg["n_head"], cfg["n_embd"], cfg["vocab"], cfg["block"])
    assert not torch.allclose(ours(tokens), other(tokens), atol=1e-2)  # the comparison can fail


def test_resnet50_reference_loads_the_specs_state_dict_by_name():
    graph = check(SPECS / "resnet50.yaml", ["inputs.image.shape=[3, 32, 32]"]).graph
    ours = compile_model(graph, seed=0).eval()
    ref = resnet50.ResNet50().eval()
    ref.load_state_dict(ours.state_dict())  # strict: every name and shape matches
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.allclose(ours(x), ref(x), atol=1e-4)


# ---- measurement logic -----------------------------------------------------------------------------

def test_identical_curves_agree():
    curve = [6.0 - 0.01 * i for i in range(50)]
    report = common.compare_curves(curve, list(curve))
    assert report["agree"] and report["max_abs_diff"] == 0


def test_single_step_noise_is_smoothed_but_a_drift_is_not():
    ref = [5.0 - 0.02 * i for i in range(100)]
    noisy = [v + (0.08 if i % 10 == 3 else 0.0) for i, v in enumerate(ref)]  # one spike per window
    assert common.compare_curves(noisy, ref)["agree"]
    drift = [v * 1.05 for v in ref]
    report = common.compare_curves(drift, ref)
    assert not report["agree"] and report["worst_step"] == 0


def test_a_diverged_curve_disagrees():
    ref = [3.0] * 20
    assert not common.compare_curves(ref[:-1] + [float("nan")], ref)["agree"]
    with pytest.raises(ValueError):
        common.compare_curves([1.0], [1.0, 2.0])


@pytest.mark.parametrize("name, peak", [
    ("NVIDIA H100 80GB HBM3", 989.4), ("NVIDIA H100 PCIe", 756.0), ("NVIDIA H100 NVL", 835.0),
    ("NVIDIA H200", 989.4), ("NVIDIA A100-SXM4-80GB", 312.0), ("NVIDIA A100 80GB PCIe", 312.0), ("NVIDIA L4", 121.0),
    ("NVIDIA GeForce RTX 4090", None), ("cpu (x86_64, 1 threads)", None)])
def test_bf16_peaks(name, peak):
    assert common.peak_tflops(name) == peak


def test_summary_mfu_and_ratio():
    timing = common.Timing(10, {"netspec": [2.0, 1.0], "reference": [1.0, 1.0]}, {"netspec": 2**30, "reference": 0})
    out = common.summarize("x", timing, 4, 100, "tokens", 10**9, 100.0, {"netspec": 2**30, "reference": 2**30})
    ours = out["sides"]["netspec"]
    assert ours["samples_per_s"] == pytest.approx(30.0)  # median of 20 and 40 samples/s
    assert ours["tokens_per_s"] == pytest.approx(3000.0)
    assert ours["mfu"] == pytest.approx(3 * 1e9 * 30 / 100e12)
    assert ours["peak_memory_gib"] == pytest.approx(2.0)
    assert out["ratio"] == pytest.approx(0.75)  # median of 0.5 and 1.0


# ---- the scripts, tiny, on the CPU ---------------------------------------------------------------------

def _smoke(script: str, tmp_path, *extra: str) -> dict:
    tmp_path.mkdir(exist_ok=True)
    md = tmp_path / "RESULTS.md"
    md.write_text("# Benchmarks\n\nearlier sections stay\n", encoding="utf-8")
    args = [sys.executable, str(BENCH / script), "--tiny", "--device", "cpu", "--results-dir", str(tmp_path),
            "--results-md", str(md), *extra]
    out = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stdout + out.stderr
    (found,) = tmp_path.glob("*.json")
    return {"result": json.loads(found.read_text()), "md": md.read_text(), "stdout": out.stdout}


def test_gpt2_script_smoke(tmp_path):
    run = _smoke("gpt2.py", tmp_path, "--set", "train.performance.pad_vocab=64")
    r = run["result"]
    assert r["params"]["netspec"] == r["params"]["reference"] > 0
    assert r["curves"]["agree"] and r["curves"]["max_abs_diff"] < 1e-4 and len(r["curves"]["netspec"]) == 4
    assert r["fast_path"]["pad_vocab"] == 64 and r["fast_path"]["precision"] == "fp32"
    sides = r["throughput"]["sides"]
    assert sides["netspec"]["tokens_per_s"] > 0 and sides["reference"]["tokens_per_s"] > 0
    assert r["throughput"]["ratio"] > 0 and sides["netspec"]["mfu"] is None  # no peak known for a CPU
    assert "earlier sections stay" in run["md"] and run["md"].count("<!-- gpu_train:gpt2-default-tiny:start -->") == 1
    assert "Ratio netspec/reference" in run["stdout"]


def test_resnet50_script_smoke(tmp_path):
    r = _smoke("resnet50.py", tmp_path, "--set", "train.performance.channels_last=true")["result"]
    assert r["params"] == {"netspec": 25_557_032, "reference": 25_557_032, "published": 25_557_032}
    assert r["fast_path"]["channels_last"] and r["curves"]["agree"]
    assert r["throughput"]["sides"]["netspec"]["images_per_s"] > 0


def test_results_section_is_replaced_not_repeated(tmp_path):
    md = tmp_path / "R.md"
    common.write_results({"workload": "w", "variant": "v"}, "## first", tmp_path, md)
    common.write_results({"workload": "x", "variant": "v"}, "## other", tmp_path, md)
    common.write_results({"workload": "w", "variant": "v"}, "## second", tmp_path, md)
    text = md.read_text()
    assert "## second" in text and "## first" not in text and text.count("gpu_train:w-v:start") == 1
    assert text.index("## second") < text.index("## other")  # replaced in place
    assert json.loads((tmp_path / "w-v.json").read_text()) == {"workload": "w", "variant": "v"}


def test_merge_brings_device_results_home(tmp_path):
    """The GPU session writes JSON under the device's $OUT; merge.py files them here."""
    r = _smoke("gpt2.py", tmp_path / "device")["result"]
    home_md, home_dir = tmp_path / "RESULTS.md", tmp_path / "results"
    home_md.write_text("# Benchmarks\n\nkept\n")
    out = subprocess.run([sys.executable, str(BENCH / "merge.py"), "--results-dir", str(home_dir), "--results-md",
                          str(home_md), *map(str, (tmp_path / "device").glob("*.json"))],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    text = home_md.read_text()
    assert "kept" in text and f"{r['throughput']['ratio']:.3f}" in text and (home_dir / "gpt2-default-tiny.json").is_file()


# ---- the real runs (GPU) -----------------------------------------------------------------------------------

def _gpu_run(script: str, tmp_path, *extra: str) -> dict:
    args = [sys.executable, str(BENCH / script), "--device", "cuda", "--results-dir", str(tmp_path),
            "--results-md", str(tmp_path / "RESULTS.md"), *extra]
    out = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert out.returncode == 0, out.stdout + out.stderr
    (found,) = tmp_path.glob("*.json")
    return json.loads(found.read_text())


@pytest.mark.gpu
def test_gpt2_on_gpu_meets_the_bar(tmp_path):
    r = _gpu_run("gpt2.py", tmp_path, "--curve-steps", "200", "--rounds", "4")
    assert r["curves"]["agree"], r["curves"]
    assert r["throughput"]["ratio"] >= 0.95, r["throughput"]
    mfu = r["throughput"]["sides"]["netspec"]["mfu"]
    if r["peak_tflops"] is not None and any(k in r["environment"]["device"] for k in ("H100", "H200")):
        assert mfu >= 0.40, mfu


@pytest.mark.gpu
def test_resnet50_on_gpu_meets_the_bar(tmp_path):
    r = _gpu_run("resnet50.py", tmp_path, "--curve-steps", "200", "--rounds", "4")
    assert r["curves"]["agree"], r["curves"]
    assert r["fast_path"]["channels_last"] and r["fast_path"]["precision"] in ("bf16-mixed", "fp16-mixed")
    assert r["throughput"]["ratio"] >= 0.95, r["throughput"]
