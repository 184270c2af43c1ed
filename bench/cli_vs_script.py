"""The whole `netspec train` command against a hand-written script of the same work, as processes.

`bench/train_vs_torch.py` compares loops inside one process; a user waits for the whole command.
Each case runs `netspec train examples/CASE.yaml --out DIR` (everything it writes by default:
checkpoints, metrics.jsonl, report, plots) and `python bench/scripts/CASE.py --out DIR` (the same
data, split, preprocessing, model, optimizer, schedule, epochs, per-epoch validation with the same
metrics, early stopping on the best weights and one checkpoint at the end; see its docstring), as
fresh processes with OMP_NUM_THREADS=1, interleaved in ABBA rounds. Measured per run:

- wall: from the process start to its exit;
- first line: until the first line on stderr (netspec says what it is doing before importing torch);
- first epoch: until the first `epoch 1/...` line;
- train: the time inside training (netspec's summary.json train_time_s; the script's own figure,
  timed over the same span: first epoch start to last epoch end).

One untimed warm-up run of each side first; PYTHONDONTWRITEBYTECODE is removed from the children's
environment (a user's Python writes __pycache__; with it set, every run compiles netspec's sources).

Printed: medians per side, the ratio of medians, and the median of the per-round ratios.

    python bench/cli_vs_script.py [--rounds 5] [--cases digits_mlp digits_cnn] [--epochs 30] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = ("digits_mlp", "digits_cnn")


def command(side: str, case: str, out: Path, epochs: int) -> list[str]:
    if side == "netspec":
        return [sys.executable, "-m", "netspec", "train", str(ROOT / "examples" / f"{case}.yaml"), "--out", str(out),
                "--epochs", str(epochs)]
    return [sys.executable, str(ROOT / "bench" / "scripts" / f"{case}.py"), "--out", str(out), "--epochs", str(epochs)]


def run(side: str, case: str, epochs: int) -> dict[str, float]:
    """One process: wall time, time to its first stderr line and to its first epoch line, training time."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a user's Python caches bytecode; without it every run compiles netspec
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        marks: dict[str, float] = {}
        t0 = time.perf_counter()
        proc = subprocess.Popen(command(side, case, out, epochs), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=env, cwd=tmp)

        def watch() -> None:
            for line in proc.stderr:
                now = time.perf_counter() - t0
                marks.setdefault("first_line_s", now)
                if line.startswith("epoch 1/"):
                    marks.setdefault("first_epoch_s", now)

        reader = threading.Thread(target=watch)
        reader.start()
        stdout = proc.stdout.read()
        proc.wait()
        reader.join()
        wall = time.perf_counter() - t0
        if proc.returncode:
            raise SystemExit(f"{side} {case} failed (exit {proc.returncode}):\n{stdout[-2000:]}")
        if side == "netspec":
            summary = json.loads((out / "summary.json").read_text())
            train, accuracy = summary["train_time_s"], summary["metrics"].get("val.accuracy")
        else:
            last = json.loads(stdout.strip().splitlines()[-1])
            train, accuracy = last["train_time_s"], last["val.accuracy"]
    return {"wall_s": wall, "train_s": train, "val_accuracy": accuracy, **marks}


def median(rows: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def bench(case: str, rounds: int, epochs: int) -> dict:
    runs: dict[str, list[dict]] = {"netspec": [], "script": []}
    for side in runs:  # warm-up, not counted: the disk cache and the bytecode cache (__pycache__)
        run(side, case, 1)
    for r in range(rounds):
        order = ("netspec", "script") if r % 2 == 0 else ("script", "netspec")
        for side in order:
            runs[side].append(run(side, case, epochs))
            print(f"  {case} round {r + 1} {side}: " + ", ".join(f"{k} {v:.3f}" for k, v in runs[side][-1].items()),
                  file=sys.stderr, flush=True)
    result = {"case": case, "rounds": rounds, "epochs": epochs, "runs": runs}
    for key in ("wall_s", "first_line_s", "first_epoch_s", "train_s"):
        n, s = median(runs["netspec"], key), median(runs["script"], key)
        per_round = statistics.median(a[key] / b[key] for a, b in zip(runs["netspec"], runs["script"]))
        result[key] = {"netspec": n, "script": s, "ratio": n / s, "median_round_ratio": per_round}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=CASES)
    parser.add_argument("--json", type=Path, help="Also write the results here.")
    args = parser.parse_args()
    results = [bench(case, args.rounds, args.epochs) for case in args.cases]
    print("| case | measurement | netspec | script | ratio | median round ratio |")
    print("|---|---|---|---|---|---|")
    for res in results:
        for key, label in (("wall_s", "process wall"), ("first_line_s", "first line on stderr"),
                           ("first_epoch_s", "first epoch line"), ("train_s", "inside training")):
            m = res[key]
            print(f"| {res['case']} | {label} | {m['netspec']:.2f} s | {m['script']:.2f} s | {m['ratio']:.2f} | "
                  f"{m['median_round_ratio']:.2f} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
