"""bench/cli_vs_script.py runs end to end: both sides train, the hand-written script reaches the same
quality band as netspec on the same work (the comparison is of equal work, not of a shortcut)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "cli_vs_script.py"


@pytest.mark.slow  # four fresh processes importing torch: ~40 s on a 2-core machine
def test_cli_vs_script_runs_both_sides_of_each_case():
    spec = importlib.util.spec_from_file_location("cli_vs_script", BENCH)
    bench = importlib.util.module_from_spec(spec)
    sys.modules["cli_vs_script"] = bench
    spec.loader.exec_module(bench)
    for case in bench.CASES:
        result = bench.bench(case, rounds=1, epochs=3)
        ours, theirs = result["runs"]["netspec"][0], result["runs"]["script"][0]
        for run in (ours, theirs):
            assert run["wall_s"] > run["train_s"] > 0 and run["first_epoch_s"] >= run["first_line_s"] > 0
        assert abs(ours["val_accuracy"] - theirs["val_accuracy"]) < 0.08, (case, ours, theirs)
        assert ours["val_accuracy"] > 0.8
