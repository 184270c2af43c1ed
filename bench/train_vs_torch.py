"""`netspec train`'s loop against a hand-written PyTorch loop: same model (the same compiled
module and initial weights), data (the same preprocessed tensors), batch size, epochs, seed,
optimizer and per-epoch validation (loss + accuracy). Runs are interleaved in ABBA rounds
(netspec, torch, torch, netspec, ...) in one process with OMP_NUM_THREADS=1. Printed: the ratio
of the fastest runs (the least disturbed by other processes, as timeit reports: the target is on
this one) and the median of the per-round ratios. The netspec loop writes metrics.jsonl and a final
checkpoint as `netspec train` does (per-epoch checkpoints are off: checkpoint.every = epochs); the
hand loop saves its trained weights once at the end, as a hand-written training script would.
Each run starts after gc.collect(), so neither side pays for collecting the previous run's garbage. The
netspec loop keeps its default train.nonfinite check (the loss read before every update).

    OMP_NUM_THREADS=1 python bench/train_vs_torch.py [--repeats 9] [--epochs 30]

30 epochs is the bundled examples' own count; fewer epochs weigh the run's fixed costs (the final
checkpoint: written atomically, hashed and fsynced) more.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from netspec.check import check  # noqa: E402
from netspec.compiler import compile_model  # noqa: E402
from netspec.train.loop import fit  # noqa: E402
from netspec.train.session import build_session  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CASES = {"digits MLP": ROOT / "examples" / "digits_mlp.yaml", "digits CNN": ROOT / "examples" / "digits_cnn.yaml"}


def overrides(epochs: int) -> list[str]:
    return [f"train.epochs={epochs}", "train.schedule=constant", "train.early_stopping=null", "data.augment=[]",
            "train.metrics=[accuracy]", f"train.checkpoint.every={epochs}", "train.checkpoint.best=false",
            "train.optimizer={type: adam, lr: 1.0e-3}"]


def run_netspec(spec: Path, epochs: int) -> tuple[float, float]:
    checked = check(spec, overrides(epochs))
    session = build_session(checked)
    with tempfile.TemporaryDirectory() as tmp:
        result = fit(session, Path(tmp), None, "")
    return result.train_time_s, result.history[-1]["val.accuracy"]


def run_torch(spec: Path, epochs: int, out: Path | None = None) -> tuple[float, float]:
    checked = check(spec, overrides(epochs))
    session = build_session(checked)  # for the same preprocessed arrays; the loop below is plain torch
    train_spec = session.train
    arrays = session.data.arrays
    field = session.data.inputs[checked.graph.inputs.__iter__().__next__()]
    x, y = (torch.as_tensor(arrays["train"][field]), torch.as_tensor(arrays["train"]["target"]))
    xv, yv = (torch.as_tensor(arrays["val"][field]), torch.as_tensor(arrays["val"]["target"]))
    torch.manual_seed(train_spec.seed)
    model = compile_model(checked.graph, seed=train_spec.seed)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(train_spec.seed)
    bs, n = train_spec.batch_size, len(x)
    t0 = time.perf_counter()
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(n, generator=gen)
        total = torch.zeros(())
        for s in range(0, n, bs):
            idx = perm[s: s + bs]
            xb, yb = x.index_select(0, idx), y.index_select(0, idx)
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.detach() * len(idx)
        model.eval()
        with torch.no_grad():
            correct, vloss = 0, torch.zeros(())
            for s in range(0, len(xv), 4 * bs):
                out = model(xv[s: s + 4 * bs])
                vloss += F.cross_entropy(out, yv[s: s + 4 * bs], reduction="sum")
                correct += int((out.argmax(1) == yv[s: s + 4 * bs]).sum())
        _ = float(total / n), float(vloss / len(xv)), correct / len(xv)
    with tempfile.TemporaryDirectory() as tmp:
        torch.save(model.state_dict(), Path(tmp) / "model.pt")
        return time.perf_counter() - t0, correct / len(xv)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--epochs", type=int, default=30)
    args = ap.parse_args()
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, python {sys.version.split()[0]}")
    for name, spec in CASES.items():
        run_netspec(spec, 1), run_torch(spec, 1)  # warm-up (imports, allocator, first-call costs)
        ours, theirs, accs = [], [], []
        for r in range(args.repeats):
            first_ours = r % 2 == 0  # ABBA: neither side always runs first
            for side in ((0, 1) if first_ours else (1, 0)):
                gc.collect()  # the previous run's garbage is not collected inside this run's timing
                t, acc = (run_netspec if side == 0 else run_torch)(spec, args.epochs)
                (ours if side == 0 else theirs).append(t)
                accs.append(acc)
        best = min(ours) / min(theirs)
        median = statistics.median(o / t for o, t in zip(ours, theirs))
        print(f"{name}: netspec {min(ours):.3f}s  torch {min(theirs):.3f}s  ratio {best:.3f} (fastest runs; "
              f"median of per-round ratios {median:.3f}; {args.repeats} ABBA rounds, {args.epochs} epochs; "
              f"val accuracy netspec {accs[-2 if first_ours else -1]:.4f} / torch {accs[-1 if first_ours else -2]:.4f})")


if __name__ == "__main__":
    main()
