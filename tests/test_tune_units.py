"""netspec tune's parts: the search space (suggestions, conditions, grids, the baseline, --set
overrides), the validate rules of `tune:`, the pruner feed, trials scored like hand-made runs,
k-fold cross-validation, the best spec file, and the command's error exits."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from conftest import EXAMPLES, run_cli
from netspec.errors import TrainError
from netspec.spec.load import load_data, overrides
from netspec.spec.tune import TuneSpec
from netspec.tune.space import baseline, grid, spec_values, suggest

# after the netspec imports: none of them imports optuna (the tune extra), only the trials below need it
optuna = pytest.importorskip("optuna", reason="netspec tune needs the tune extra (optuna)")

MLP = EXAMPLES / "digits_mlp.yaml"


def space(data: dict) -> dict:
    return TuneSpec.model_validate({"space": data}).space


OPT_SPACE = space({
    "train.optimizer.lr": {"type": "log_uniform", "low": 1e-4, "high": 1e-1},
    "train.optimizer.type": {"type": "choice", "values": ["adam", "sgd"]},
    "train.optimizer.momentum": {"type": "uniform", "low": 0.0, "high": 0.9, "when": {"train.optimizer.type": "sgd"}},
    "model.layers[0].linear.out_features": {"type": "int", "low": 64, "high": 256, "step": 64},
})


# ---- the space ------------------------------------------------------------------------------------

def test_conditional_parameters_follow_earlier_choices():
    adam = suggest(optuna.trial.FixedTrial({"train.optimizer.lr": 0.01, "train.optimizer.type": "adam",
                                            "model.layers[0].linear.out_features": 128}), OPT_SPACE)
    assert adam == {"train.optimizer.lr": 0.01, "train.optimizer.type": "adam", "model.layers[0].linear.out_features": 128}
    sgd = suggest(optuna.trial.FixedTrial({"train.optimizer.lr": 0.01, "train.optimizer.type": "sgd",
                                           "train.optimizer.momentum": 0.5,
                                           "model.layers[0].linear.out_features": 64}), OPT_SPACE)
    assert sgd["train.optimizer.momentum"] == 0.5


def test_choices_of_mappings_are_sampled_by_index_and_decoded():
    s = space({"train.optimizer": {"type": "choice", "values": [{"type": "adam"}, {"type": "sgd", "momentum": 0.9}]}})
    values = suggest(optuna.trial.FixedTrial({"train.optimizer": 1}), s)
    assert values == {"train.optimizer": {"type": "sgd", "momentum": 0.9}}
    assert spec_values({"train.optimizer": 1}, s) == values


def test_grid_values():
    g = grid(space({"a.b": {"type": "int", "low": 2, "high": 9, "step": 3},
                    "a.c": {"type": "uniform", "low": 0.0, "high": 1.0, "grid_points": 3},
                    "a.d": {"type": "log_uniform", "low": 1e-4, "high": 1e-2, "grid_points": 3},
                    "a.e": {"type": "choice", "values": ["x", "y"]}}))
    assert g["a.b"] == [2, 5, 8] and g["a.c"] == [0.0, 0.5, 1.0] and g["a.e"] == ["x", "y"]
    assert g["a.d"] == pytest.approx([1e-4, 1e-3, 1e-2])


def test_baseline_takes_the_spec_values_that_lie_in_the_space():
    data, _ = load_data(MLP)
    assert baseline(OPT_SPACE, data) == {"train.optimizer.lr": 1e-3, "train.optimizer.type": "adam",
                                         "model.layers[0].linear.out_features": 256}
    narrow = space({"train.optimizer.lr": {"type": "uniform", "low": 0.01, "high": 0.1},   # 1e-3 is outside
                    "train.epochs": {"type": "int", "low": 10, "high": 40, "step": 7},     # 30 is off the grid
                    "train.grad_clip": {"type": "choice", "values": ["norm", "value"]}})   # not written
    assert baseline(narrow, data) is None


def test_overrides_apply_values_like_set():
    values = {"train.optimizer.lr": 1.2345e-05, "model.layers[0].linear.out_features": 96,
              "train.optimizer": {"type": "sgd", "lr": 0.1, "momentum": 0.9}, "data.split.stratify": False}
    data, _ = load_data(MLP, overrides(values))
    assert data["train"]["optimizer"] == {"type": "sgd", "lr": 0.1, "momentum": 0.9}
    assert data["model"]["layers"][0]["linear"]["out_features"] == 96 and data["data"]["split"]["stratify"] is False
    data, _ = load_data(MLP, overrides({"train.optimizer.lr": 1.2345e-05}))
    assert data["train"]["optimizer"]["lr"] == 1.2345e-05


# ---- validate --------------------------------------------------------------------------------------

BAD = """\
netspec: 1
extends: {base}
tune:
  objective: {{metric: val.acc}}
  space:
    train.optimizer.lrr: {{type: log_uniform, low: 1.0e-4, high: 1.0e-2}}
    model.layers[0].linear.out_features: {{type: int, low: 0, high: 256}}
    train.optimizer.type: {{type: choice, values: [adam, sgd]}}
    train.optimizer.momentum: {{type: uniform, low: 0.0, high: 0.9, when: {{train.optimizer.type: rmsprop}}}}
    train.optimizer: {{type: choice, values: [adam]}}
    train.epochs: {{type: int, low: 9, high: 3}}
"""


def test_validate_locates_tune_problems(write_spec):
    path = write_spec(BAD.format(base=MLP))
    proc = run_cli("validate", str(path))
    assert proc.returncode == 1
    err = proc.stderr
    f = str(path)
    assert f"{f}:4:23: tune.objective.metric: the objective 'val.acc' is not a logged metric" in err
    assert f"{f}:6:" in err and "train.optimizer.lrr = 0.0001 makes the spec invalid: train.optimizer.lrr: unknown key" in err
    assert "did you mean 'lr'?" in err
    assert "model.layers[0].linear.out_features = 0 makes the spec invalid" in err
    assert "train.optimizer.type never takes 'rmsprop'" in err
    assert f"{f}:10:5: tune.space.train.optimizer: 'train.optimizer' overlaps an earlier parameter" in err
    assert "tune.space.train.epochs: low (9) must not exceed high (3)" in err


def test_validate_accepts_the_shipped_search():
    proc = run_cli("validate", str(EXAMPLES / "digits_mlp_tune.yaml"))
    assert proc.returncode == 0, proc.stderr


def test_validate_refuses_conditions_with_the_grid_sampler(write_spec):
    text = f"""netspec: 1
extends: {MLP}
tune:
  sampler: grid
  space:
    train.optimizer.type: {{type: choice, values: [adam, sgd]}}
    train.optimizer.momentum: {{type: uniform, low: 0.0, high: 0.9, when: {{train.optimizer.type: sgd}}}}
"""
    proc = run_cli("validate", str(write_spec(text)))
    assert proc.returncode == 1 and "the grid sampler tries every combination" in proc.stderr


# ---- the pruner's feed ----------------------------------------------------------------------------

def test_each_epoch_reports_to_the_pruner_which_can_stop_the_trial():
    from netspec.tune.objective import PruningReporter

    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.ThresholdPruner(lower=0.9))
    trial = study.ask()
    reporter = PruningReporter(trial, "val.accuracy")
    reporter.epoch({"epoch": 1, "val.accuracy": 0.95, "val.loss": 0.2})
    reporter.epoch({"epoch": 2, "val.loss": 0.1})  # no objective value this epoch: nothing reported
    with pytest.raises(optuna.TrialPruned, match="pruned at step 3"):
        reporter.epoch({"epoch": 3, "val.accuracy": 0.5})
    assert study.trials[0].intermediate_values == {1: 0.95, 3: 0.5}


# ---- trials, cross-validation, failures -----------------------------------------------------------

def _fit_value(spec, sets, epochs, metric="val.accuracy"):
    from netspec.check import check
    from netspec.train.loop import fit
    from netspec.train.session import build_session

    return fit(build_session(check(spec, sets), epochs=epochs)).metrics[metric]


def _config(spec_path, tune_data, **kw):
    from netspec.tune.study import SearchConfig

    data, _ = load_data(spec_path)
    return SearchConfig(str(spec_path), [], TuneSpec.model_validate(tune_data), "val.accuracy", "unit", data=data, **kw)


def test_trials_score_what_a_hand_made_run_with_their_values_scores(write_spec):
    from netspec.tune.study import run_search

    spec = write_spec(MLP.read_text())
    config = _config(spec, {"space": {"train.optimizer.lr": {"type": "log_uniform", "low": 1e-3, "high": 1e-2},
                                      "model.layers[0].linear.out_features": {"type": "int", "low": 32, "high": 64}},
                            "sampler": {"type": "random", "seed": 1}, "pruner": "none", "include_baseline": False},
                     trials=2, epochs=1)
    study, lost = run_search(config)
    assert lost == [] and [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE"]
    for t in study.trials:
        assert t.value == pytest.approx(_fit_value(spec, overrides(t.params), 1), abs=1e-12)
        assert t.intermediate_values == {1: t.value}


def test_a_failing_trial_is_recorded_and_the_study_goes_on(write_spec):
    from netspec.tune.study import run_search

    spec = write_spec(MLP.read_text())
    config = _config(spec, {"space": {"train.optimizer": {"type": "choice", "values": [
        {"type": "sgd", "lr": 1.0e6}, {"type": "adam", "lr": 1.0e-3}]}}, "sampler": "grid", "pruner": "none"},
        trials=2, epochs=1)
    study, _ = run_search(config)
    states = {json.dumps(spec_values(t.params, config.tune.space)): t for t in study.trials}
    failed = states[json.dumps({"train.optimizer": {"type": "sgd", "lr": 1.0e6}})]
    assert failed.state.name == "FAIL" and "finite" in failed.user_attrs["error"] and "loss" in failed.user_attrs["error"]
    assert states[json.dumps({"train.optimizer": {"type": "adam", "lr": 1.0e-3}})].state.name == "COMPLETE"


def test_kfold_folds_partition_the_data_and_score_like_separate_runs(write_spec):
    from netspec.data.split import kfold_indices
    from netspec.spec.data import KFold
    from netspec.spec.load import override
    from netspec.tune.crossval import cross_validate, fold_split

    spec = write_spec(MLP.read_text())
    seen = []
    cv = cross_validate(spec, [], k=3, metric="val.accuracy", epochs=1, on_fold=lambda f, m: seen.append((f, m)))
    assert len(cv.folds) == 3 and cv.mean == pytest.approx(np.mean(cv.folds)) and cv.std == pytest.approx(np.std(cv.folds, ddof=1))
    assert [f for f, _ in seen] == [0, 1, 2] and seen[-1][1] == pytest.approx(cv.mean)
    for fold, value in enumerate(cv.folds):
        by_hand = _fit_value(spec, [override("data.split", fold_split(3, fold, True, 0))], 1)
        assert value == pytest.approx(by_hand, abs=1e-12)
    labels = np.array([i % 10 for i in range(1797)])
    vals = [kfold_indices(KFold(type="kfold", k=3, fold=f), 1797, labels)["val"] for f in range(3)]
    assert sorted(np.concatenate(vals).tolist()) == list(range(1797))  # each sample validated exactly once


def test_kfold_evaluation_scores_a_trial_by_its_fold_mean(write_spec):
    from netspec.tune.crossval import cross_validate
    from netspec.tune.study import run_search

    spec = write_spec(MLP.read_text())
    config = _config(spec, {"space": {"train.optimizer.lr": {"type": "choice", "values": [0.002]}},
                            "evaluation": {"type": "kfold", "k": 2}, "pruner": "none"}, trials=1, epochs=1)
    study, _ = run_search(config)
    t = study.trials[0]
    cv = cross_validate(spec, ["train.optimizer.lr=0.002"], k=2, metric="val.accuracy", epochs=1)
    assert t.value == pytest.approx(cv.mean, abs=1e-12) and t.user_attrs["folds"] == pytest.approx(cv.folds)


def test_missing_objective_metric_is_a_located_error():
    from netspec.tune.crossval import score

    with pytest.raises(TrainError, match="did not log a number for 'val.f2'") as err:
        score(type("R", (), {"metrics": {"val.loss": 0.1}})(), "val.f2")
    assert err.value.path == ("tune", "objective", "metric")


# ---- the best spec -------------------------------------------------------------------------------

def test_best_spec_is_complete_with_file_paths_rebased(tmp_path):
    from netspec.tune.results import best_spec_text

    (tmp_path / "data").mkdir()
    rng = np.random.default_rng(0)
    rows = ["a,b,target"] + [f"{x:.3f},{y:.3f},{int(x > y)}" for x, y in rng.random((60, 2))]
    (tmp_path / "data" / "t.csv").write_text("\n".join(rows) + "\n")
    spec = tmp_path / "spec.yaml"
    spec.write_text("""netspec: 1
inputs: {features: {shape: [2]}}
model: {layers: [{linear: {out_features: 2}}]}
data: {source: {type: csv, path: data/t.csv, target: target}, split: {val: 0.25}}
train: {epochs: 1, optimizer: {type: adam, lr: 0.01}}
tune: {space: {train.optimizer.lr: {type: log_uniform, low: 1.0e-3, high: 1.0e-1}}}
""")
    out = tmp_path / "runs" / "study" / "best.yaml"
    text = best_spec_text(spec, [], {"train.optimizer.lr": 0.05}, out, "best of a study\nline two")
    out.parent.mkdir(parents=True)
    out.write_text(text)
    assert text.startswith("# best of a study\n# line two\n")
    data, _ = load_data(out)
    assert "tune" not in data and data["train"]["optimizer"]["lr"] == 0.05
    assert data["data"]["source"]["path"] == "../../data/t.csv"
    from netspec.check import check
    from netspec.train.loop import fit
    from netspec.train.session import build_session

    assert fit(build_session(check(out))).epochs == 1  # the data path resolves from the new folder


# ---- the command ---------------------------------------------------------------------------------

def test_tune_needs_a_tune_section():
    proc = run_cli("tune", str(MLP))
    assert proc.returncode == 1 and "the spec has no tune: section" in proc.stderr


def test_resume_needs_a_storage():
    proc = run_cli("tune", str(EXAMPLES / "digits_mlp_tune.yaml"), "--resume")
    assert proc.returncode == 2 and "--storage" in proc.stderr


@pytest.mark.slow
def test_worker_processes_share_one_study(tmp_path):
    proc = run_cli("tune", str(EXAMPLES / "digits_mlp_tune.yaml"), "--trials", "4", "--epochs", "1", "--jobs", "2",
                   "--out", str(tmp_path), "--json", timeout=600)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["storage"].endswith("study.db")
    study = optuna.load_study(study_name="digits-mlp", storage=result["storage"])
    finished = [t for t in study.trials if t.state.is_finished()]
    assert 4 <= len(finished) <= 5  # the target, plus at most one trial the other worker had started
    assert len({t.user_attrs["pid"] for t in finished}) == 2
    assert len({t.number for t in study.trials}) == len(study.trials)
    assert not math.isnan(result["best"]["value"])


def test_trials_left_running_by_dead_processes_are_failed_and_queued_again(monkeypatch):
    import os
    import socket
    import subprocess
    import sys

    from netspec.tune import study as study_mod

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(storage="sqlite:///:memory:")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    tagged = {"ours": os.getpid(), "dead": int(dead.stdout), "elsewhere": int(dead.stdout)}
    numbers = {}
    for name, pid in tagged.items():
        trial = study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
        trial.set_user_attr("host", socket.gethostname() if name != "elsewhere" else "another-host")
        trial.set_user_attr("pid", pid)
        numbers[name] = trial.number
    untagged = study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})  # killed before the objective tagged it
    assert study_mod.recover_stale(study) == [numbers["dead"]]  # the untagged one is too young to judge
    monkeypatch.setattr(study_mod, "UNTAGGED_S", 0.0)
    assert study_mod.recover_stale(study) == [untagged.number]
    states = {t.number: t.state.name for t in study.trials}
    assert states[numbers["dead"]] == states[untagged.number] == "FAIL"
    assert states[numbers["ours"]] == states[numbers["elsewhere"]] == "RUNNING"  # alive, or another host's heartbeat
    retries = [t for t in study.trials if t.state.name == "WAITING"]
    assert sorted(t.user_attrs["retry_of"] for t in retries) == sorted([numbers["dead"], untagged.number])
    queued = {t.system_attrs["fixed_params"]["x"] for t in retries}  # an enqueued trial's values, until it runs
    assert queued == {study.trials[numbers["dead"]].params["x"], untagged.params["x"]}
