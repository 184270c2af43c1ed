"""CPU inference latency: the exported, verified ONNX file in onnxruntime vs the PyTorch module in
eager mode, for several zoo specs at batch 1 and 32.

One thread on both sides (OMP_NUM_THREADS=1 and torch.set_num_threads(1); onnxruntime with one
intra-op and one inter-op thread, sequential execution, default graph optimizations). Each spec is
exported with `netspec export` (verification on), then PyTorch and onnxruntime are timed in
alternation on the same input (one warm-up call each, then ``--repeats`` interleaved pairs); the
table shows medians and the ratio onnxruntime / PyTorch (below 1: onnxruntime is faster).

    OMP_NUM_THREADS=1 python bench/onnx_latency.py [--repeats 15] [--write]

``--write`` puts the table, with the machine description, in bench/RESULTS.md (its own section).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import onnxruntime as ort  # noqa: E402
import torch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "RESULTS.md"
START, END = "<!-- onnx_latency:start -->", "<!-- onnx_latency:end -->"

#: spec, overrides (input sizes a CPU benchmark can afford), what it stands for
CASES = [
    ("mlp", [], "MLP, 64 features"),
    ("lenet5", [], "LeNet-5, 1x28x28"),
    ("resnet_mini", [], "small ResNet, 3x32x32"),
    ("resnet18", ["inputs.image.shape=[3,64,64]"], "ResNet-18, 3x64x64"),
    ("mobilenet_v2", ["inputs.image.shape=[3,64,64]"], "MobileNetV2, 3x64x64"),
    ("lstm_classifier", ["dims.seq=64"], "LSTM classifier, 64 tokens (lengths)"),
    ("transformer_classifier", ["dims.seq=64"], "transformer encoder, 64 tokens (padding mask)"),
    ("gpt_mini", ["dims.seq=64"], "GPT-mini, 64 tokens (causal)"),
]


def session(path: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def measure(name: str, overrides: list[str], batches: list[int], repeats: int, folder: Path) -> list[dict]:
    from netspec.check import check
    from netspec.compiler import compile_model
    from netspec.export import export_spec
    from netspec.export.samples import verification_sets
    from netspec.spec.export import VerifySpec

    spec = ROOT / "specs" / f"{name}.yaml"
    (done,) = export_spec(spec, overrides, out=folder / f"{name}.onnx", dynamic=["batch"])
    assert done.verified, f"{name} did not verify"
    graph = check(spec, overrides).graph
    model = compile_model(graph, seed=0).eval()
    sess = session(done.path)
    names = [i.name for i in sess.get_inputs()]
    rows = []
    for batch in batches:
        ((_, inputs),) = verification_sets(graph, {"batch"}, VerifySpec(batch_sizes=[batch, batch + 1]))[:1]
        tensors = list(inputs.values())
        feed = {n: inputs[n].numpy() for n in names}
        torch_times, ort_times = [], []
        with torch.inference_mode():
            model(*tensors), sess.run(None, feed)  # warm-up
            for _ in range(repeats):
                start = time.perf_counter()
                model(*tensors)
                torch_times.append(time.perf_counter() - start)
                start = time.perf_counter()
                sess.run(None, feed)
                ort_times.append(time.perf_counter() - start)
        t, o = statistics.median(torch_times), statistics.median(ort_times)
        rows.append({"spec": name, "batch": batch, "torch_ms": t * 1e3, "ort_ms": o * 1e3, "ratio": o / t})
    return rows


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{os.cpu_count()} vCPU {cpu}, {platform.machine()}, load average {load:.1f} at the end of the run; "
            f"torch {torch.__version__}, onnxruntime {ort.__version__}, Python {platform.python_version()}; "
            f"one thread on both sides")


def table(rows: list[dict], labels: dict[str, str]) -> str:
    lines = ["| spec | what | batch | PyTorch eager | onnxruntime | ratio ort/torch |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['spec']} | {labels[r['spec']]} | {r['batch']} | {r['torch_ms']:.3f} ms | "
                     f"{r['ort_ms']:.3f} ms | {r['ratio']:.2f} |")
    return "\n".join(lines)


def write_results(text: str) -> None:
    section = f"{START}\n{text}\n{END}"
    old = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmarks\n"
    if START in old and END in old:
        new = old[: old.index(START)] + section + old[old.index(END) + len(END):]
    else:
        new = old.rstrip("\n") + "\n\n" + section + "\n"
    RESULTS.write_text(new, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--specs", nargs="+", help="a subset of the cases")
    parser.add_argument("--write", action="store_true", help="write the table into bench/RESULTS.md")
    args = parser.parse_args()
    torch.set_num_threads(1)
    cases = [c for c in CASES if not args.specs or c[0] in args.specs]
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, overrides, _ in cases:
            rows += measure(name, overrides, args.batches, args.repeats, Path(tmp))
            print(f"{name}: " + ", ".join(f"batch {r['batch']}: torch {r['torch_ms']:.3f} ms, ort {r['ort_ms']:.3f} ms"
                                          for r in rows if r["spec"] == name), file=sys.stderr)
    labels = {name: what for name, _, what in CASES}
    text = table(rows, labels)
    print(text)
    geo = statistics.geometric_mean([r["ratio"] for r in rows])
    summary = (f"## onnx_latency: onnxruntime vs PyTorch eager, CPU inference\n\n"
               f"`OMP_NUM_THREADS=1 python bench/onnx_latency.py --repeats {args.repeats} --write`: each spec exported "
               f"with `netspec export` (verified), then PyTorch (eager, inference mode) and onnxruntime (CPU provider, "
               f"default graph optimizations) timed in alternation on the same inputs; medians of {args.repeats} calls "
               f"after a warm-up.\n\n{text}\n\nGeometric mean of the ratios: {geo:.2f}.\n\nMachine: {machine()}.\n\n"
               f"Reading: the machine is shared with other jobs, so absolute times move from run to run; the "
               f"ratios are steadier because both sides are timed in alternation on the same inputs. The PyTorch "
               f"side of lstm_classifier runs packed sequences (its `lengths` input), the ONNX side the LSTM "
               f"operator with `sequence_lens`.")
    print(f"\ngeometric mean ratio ort/torch: {geo:.2f}")
    if args.write:
        write_results(summary)


if __name__ == "__main__":
    main()
