"""Acceptance tests of `netspec tune` on the shipped digits MLP search (examples/digits_mlp_tune.yaml).

* The search finds a configuration at least as good as the shipped default (examples/digits_mlp.yaml)
  on the same validation metric at the same epochs, without the head start of the baseline trial;
  the best spec it writes trains, unchanged, to exactly the value of its trial.
* A search killed mid-study (SIGKILL) and re-run with --resume continues the same study: the
  finished trials are kept as they were, the trial that was cut off is retried, and the study
  reaches its target without losing or repeating a trial.
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import EXAMPLES, ROOT, run_cli

optuna = pytest.importorskip("optuna", reason="netspec tune needs the tune extra (optuna)")

SEARCH = EXAMPLES / "digits_mlp_tune.yaml"
DEFAULT = EXAMPLES / "digits_mlp.yaml"
NO_HEAD_START = "tune.include_baseline=false"


def default_value(epochs: int) -> float:
    """The shipped default's val.accuracy after `epochs` (its best epoch: early stopping restores it)."""
    return _fit(DEFAULT, [], epochs)


def _fit(spec: Path, sets: list[str], epochs: int) -> float:
    """val.accuracy of a run's final weights, exactly as a trial scores them."""
    from netspec.check import check
    from netspec.train.loop import fit
    from netspec.train.session import build_session

    return fit(build_session(check(spec, sets), epochs=epochs)).metrics["val.accuracy"]


def tune(out: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return run_cli("tune", str(SEARCH), "--set", NO_HEAD_START, "--out", str(out), *args, timeout=timeout)


def check_search(tmp_path: Path, trials: int, epochs: int) -> None:
    proc = tune(tmp_path, "--trials", str(trials), "--epochs", str(epochs), "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    finished = [r for r in result["trials"] if r["state"] in ("complete", "pruned")]
    assert len(finished) == trials
    assert not any("the spec's own values" in r["note"] for r in result["trials"])  # no head start
    baseline = default_value(epochs)
    assert result["best"]["value"] >= baseline, (result["best"], baseline)
    # the best spec is complete and trains unchanged to its trial's value
    best = Path(result["best_spec"])
    text = best.read_text()
    assert "tune:" not in text and "extends:" not in text
    assert _fit(best, [], epochs) == pytest.approx(result["best"]["value"], abs=1e-9)
    validate = run_cli("validate", str(best))
    assert validate.returncode == 0, validate.stderr


def test_search_beats_the_shipped_default_short(tmp_path):
    check_search(tmp_path, trials=6, epochs=3)


@pytest.mark.slow
def test_search_beats_the_shipped_default_within_20_trials(tmp_path):
    check_search(tmp_path, trials=20, epochs=8)


def _trial_states(path) -> list[tuple[str, int]]:
    """(state, number of parameters drawn) of a study's trials straight from Optuna's SQLite tables
    (a millisecond; loading the study through Optuna takes long enough to miss a short trial). A
    running trial counts once the objective has tagged it with its process ("RUNNING"), before that
    it is "STARTING"."""
    import sqlite3

    query = ("SELECT t.state, EXISTS (SELECT 1 FROM trial_user_attributes a WHERE a.trial_id = t.trial_id "
             "AND a.key = 'pid'), (SELECT count(*) FROM trial_params p WHERE p.trial_id = t.trial_id) FROM trials t")
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0.1)) as con:
            return [(state if state != "RUNNING" or tagged else "STARTING", n) for state, tagged, n in con.execute(query)]
    except sqlite3.Error:  # not created yet, or locked by the writer this instant
        return []


def _training(states: list[tuple[str, int]]) -> bool:
    """Two trials finished and the next one training: tagged, with every parameter drawn."""
    done = [n for state, n in states if state in ("COMPLETE", "PRUNED", "FAIL")]
    return len(done) >= 2 and any(state == "RUNNING" and n == max(done) for state, n in states)


def test_killed_search_resumes_the_same_study(tmp_path):
    db = f"sqlite:///{tmp_path / 'study.db'}"
    args = ["--trials", "4", "--epochs", "5", "--storage", db, "--quiet"]
    proc = subprocess.Popen([sys.executable, "-m", "netspec", "tune", str(SEARCH), "--set", NO_HEAD_START,
                             "--out", str(tmp_path), *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    while time.time() < deadline:  # a trial can be short (pruned after an epoch): poll the table itself, often
        time.sleep(0.02)
        if _training(_trial_states(tmp_path / "study.db")):
            break
        assert proc.poll() is None, proc.communicate()[1]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = optuna.load_study(study_name="digits-mlp", storage=db).trials
    done_before = {t.number: (t.state, t.value, t.params) for t in before if t.state.is_finished()}
    cut_off = [t for t in before if not t.state.is_finished()]
    assert len(done_before) >= 2 and len(cut_off) == 1

    again = run_cli("tune", str(SEARCH), "--set", NO_HEAD_START, "--out", str(tmp_path), *args, "--resume", "--json")
    assert again.returncode == 0, again.stderr
    result = json.loads(again.stdout)
    assert result["recovered"] == [cut_off[0].number]
    after = optuna.load_study(study_name="digits-mlp", storage=db).trials
    # the same study: earlier trials unchanged, new ones numbered after them
    for number, (state, value, params) in done_before.items():
        assert (after[number].state, after[number].value, after[number].params) == (state, value, params)
    assert after[cut_off[0].number].state.name == "FAIL"
    retry = [t for t in after if t.user_attrs.get("retry_of") == cut_off[0].number]
    assert len(retry) == 1 and retry[0].params == cut_off[0].params and retry[0].state.is_finished()
    finished = [t for t in after if t.state.name in ("COMPLETE", "PRUNED")]
    assert len(finished) == 4  # the target, reached once: no trial run twice, none lost
    assert [t.number for t in after] == list(range(len(after)))
    assert not [t for t in after if t.state.name == "RUNNING"]

    # a study that exists is not silently restarted
    fresh = run_cli("tune", str(SEARCH), "--set", NO_HEAD_START, "--out", str(tmp_path), *args)
    assert fresh.returncode == 1 and "already exists" in fresh.stderr and "--resume" in fresh.stderr
