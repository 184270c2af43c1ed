"""Cold-start speed of `netspec validate` (a CI and pre-commit concern).

Targets (issue 2): a cold `netspec validate specs/mlp.yaml` (new process, warm disk) in ≤ 0.5 s
wall, and 100 specs validated in one call in ≤ 1.5 s. Each measurement is a fresh process; the
figures are the median of several runs after one warm-up run (warm disk cache).

    OMP_NUM_THREADS=1 python bench/validate_speed.py [--runs 9]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MIX = ["mlp", "lenet5", "resnet_mini", "resnet18", "gpt_mini", "lstm_classifier", "unet", "vae"]


def timed(args: list[str]) -> float:
    start = time.perf_counter()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # as a user's Python: __pycache__
    proc = subprocess.run([sys.executable, "-m", "netspec", *args], cwd=ROOT, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"netspec {' '.join(args)} failed:\n{proc.stdout}{proc.stderr}")
    return elapsed


def median_of(args: list[str], runs: int) -> float:
    timed(args)  # warm the disk cache and the bytecode cache
    return statistics.median(timed(args) for _ in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    one = median_of(["validate", "specs/mlp.yaml"], args.runs)
    with tempfile.TemporaryDirectory() as tmp:
        available = [n for n in MIX if (ROOT / "specs" / f"{n}.yaml").exists()]
        for i in range(100):
            name = available[i % len(available)]
            shutil.copy(ROOT / "specs" / f"{name}.yaml", Path(tmp) / f"{i:03d}_{name}.yaml")
        many = median_of(["validate", "--quiet", tmp], max(3, args.runs // 3))
    python = median_of(["--help"], args.runs)  # the floor: interpreter + CLI import
    print(f"specs in the 100-spec mix: {', '.join(available)}")
    print(f"cold validate of specs/mlp.yaml : {one:.3f} s (target <= 0.5 s, ratio {one / 0.5:.2f})")
    print(f"validate 100 specs in one call  : {many:.3f} s (target <= 1.5 s, ratio {many / 1.5:.2f})")
    print(f"netspec --help (startup floor)  : {python:.3f} s")


if __name__ == "__main__":
    main()
