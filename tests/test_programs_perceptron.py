"""The perceptron program: Rosenblatt's rule run by the loop equals a hand-written numpy perceptron
over the same samples in the same order (binary and multiclass), reaches zero mistakes on
separable data within Novikoff's bound (R/γ)², feeds the metrics the unit's 0/1 decisions
(never through a sigmoid), resumes bit for bit (at an epoch's end and mid-epoch), and validate
rejects what the rule cannot train with located errors. The example's stated accuracy is checked
through the real command line, and so is the warning for a step under gradient descent."""

from __future__ import annotations

import json
import signal

import numpy as np
import pytest
import torch

from conftest import EXAMPLES, run_cli
from generative_helpers import Interrupt, StopAfter, problems, session_for
from netspec.checkpoint import load_checkpoint
from netspec.train.api import evaluate_checkpoint
from netspec.train.loop import fit

SPEC = """netspec: 1
name: separable
inputs:
  features: {{shape: [{d}]}}
model:
  layers:
    - {{name: unit, linear: {{out_features: {c}{act}}}{init}}}
data:
  source: {{type: arrays, path: data.npz}}
  split: {{val: 0.25, seed: 0}}
train:
  program: {{type: perceptron, lr: {lr}}}
  epochs: {epochs}
  batch_size: 16
  seed: 0
"""
ZEROS = ", init: {weight: zeros, bias: zeros}"


def separable(n: int, d: int, classes: int, margin: float, seed: int = 0) -> dict[str, np.ndarray]:
    """Points on a grid of eighths in [-1, 1]^d (every sum of them is exact in float32), labelled by
    a random affine rule (binary: its sign; C classes: the argmax of C scores), kept only with a
    margin of at least ``margin`` around the rule's boundary."""
    rng = np.random.default_rng(seed)
    x = (rng.integers(-8, 9, size=(40 * n, d)) / 8).astype(np.float32)
    w, b = rng.normal(size=(max(classes, 1), d)), rng.normal(size=max(classes, 1)) * 0.2
    scores = x @ w.T + b
    if classes == 1:
        gap = np.abs(scores[:, 0]) / np.linalg.norm(np.r_[w[0], b[0]])
        y = (scores[:, 0] > 0).astype(np.int64)
    else:
        top = np.sort(scores, axis=1)
        gap, y = top[:, -1] - top[:, -2], scores.argmax(1).astype(np.int64)
    keep = np.flatnonzero(gap >= margin)[:n]
    assert len(keep) == n
    return {"features": x[keep], "target": y[keep], "w": w, "b": b}


def write(tmp_path, data: dict, d: int, c: int, lr: float = 1.0, epochs: int = 30, zeros: bool = True):
    np.savez(tmp_path / "data.npz", features=data["features"], target=data["target"])
    act = ", activation: step" if c == 1 else ""
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC.format(d=d, c=c, act=act, init=ZEROS if zeros else "", lr=lr, epochs=epochs), encoding="utf-8")
    return path


def recorded(session) -> list[tuple[np.ndarray, np.ndarray]]:
    """Wrap the program's train_step to record every batch it is given, in order."""
    seen: list = []
    step = session.program.train_step

    def spy(batch, updater):
        seen.append((batch["features"].numpy().copy(), batch["target"].numpy().copy()))
        return step(batch, updater)

    session.program.train_step = spy
    return seen


def numpy_perceptron(w, b, batches, lr: float, classes: int):
    """Rosenblatt's rule, one sample at a time in float32; returns (w, b, mistakes per batch)."""
    w, b, lr = w.astype(np.float32).copy(), b.astype(np.float32).copy(), np.float32(lr)
    mistakes = []
    for xs, ys in batches:
        m = 0
        for x, y in zip(xs, ys):
            s = w @ x + b
            if classes == 1:
                e = np.float32(y) - np.float32(s[0] > 0)
                w[0] += lr * e * x
                b[0] += lr * e
                m += e != 0
            elif s.argmax() != y:
                guess = s.argmax()
                w[y] += lr * x
                b[y] += lr
                w[guess] -= lr * x
                b[guess] -= lr
                m += 1
        mistakes.append(m)
    return w, b, mistakes


def per_epoch(mistakes: list[int], batches_per_epoch: int) -> list[int]:
    return [sum(mistakes[i: i + batches_per_epoch]) for i in range(0, len(mistakes), batches_per_epoch)]


def run(tmp_path, data, d, c, **kw):
    session = session_for(write(tmp_path, data, d, c, **kw))
    unit = session.models["model"].unit
    w0 = unit.weight.detach().numpy().copy()
    b0 = unit.bias.detach().numpy().copy()
    batches = recorded(session)
    result = fit(session)
    return session, result, batches, w0, b0


def test_binary_rule_equals_numpy_and_converges_within_novikoffs_bound(tmp_path):
    data = separable(160, 4, 1, margin=0.15)
    session, result, batches, w0, b0 = run(tmp_path, data, 4, 1)
    unit = session.models["model"].unit
    assert not w0.any() and not b0.any()  # zero initial weights: the setting of Novikoff's theorem
    w, b, mistakes = numpy_perceptron(w0, b0, batches, 1.0, 1)
    assert np.array_equal(unit.weight.detach().numpy(), w) and np.array_equal(unit.bias.detach().numpy(), b)
    errors = [r["train.errors"] for r in result.history]
    n = session.data.size("train")
    assert errors == per_epoch(mistakes, -(-n // 16))
    assert [r["train.loss"] for r in result.history] == pytest.approx([e / n for e in errors])
    # Novikoff (1962): at most (R/γ)² updates, R the radius of the (x, 1) points, γ the margin of any
    # separating unit-norm (w, b), here the rule that labelled the data
    x = np.concatenate([xs for xs, _ in batches[: -(-n // 16)]])
    t = np.concatenate([ys for _, ys in batches[: -(-n // 16)]]) * 2 - 1
    aug = np.c_[x, np.ones(len(x))]
    star = np.r_[data["w"][0], data["b"][0]]
    gamma = float((t * (aug @ star)).min() / np.linalg.norm(star))
    radius = float(np.linalg.norm(aug, axis=1).max())
    assert 0 in errors, errors
    converged = errors.index(0)
    assert 0 < sum(errors[:converged]) <= (radius / gamma) ** 2
    assert all(e == 0 for e in errors[converged:])  # and nothing moves after that
    assert result.history[-1]["lr"] == 1.0  # the rule's step size, not an optimizer's default
    assert session.updater.slots["model"].steps == 0  # no optimizer ever stepped


def test_multiclass_rule_equals_numpy_from_random_weights_and_separates(tmp_path):
    data = separable(180, 3, 3, margin=0.3, seed=1)
    session, result, batches, w0, b0 = run(tmp_path, data, 3, 3, lr=0.25, epochs=40, zeros=False)
    assert w0.any()  # the linear's default initialization
    unit = session.models["model"].unit
    w, b, mistakes = numpy_perceptron(w0, b0, batches, 0.25, 3)
    np.testing.assert_allclose(unit.weight.detach().numpy(), w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(unit.bias.detach().numpy(), b, rtol=1e-5, atol=1e-6)
    errors = [r["train.errors"] for r in result.history]
    assert errors == per_epoch(mistakes, -(-session.data.size("train") // 16))
    assert errors[-1] == 0 and errors[0] > 0
    assert result.history[-1]["val.accuracy"] >= 0.95


def test_metrics_read_the_units_decisions_not_a_sigmoid_of_them(tmp_path):
    """A 0/1 output through a sigmoid would be 0.5 or 0.73: with a decision threshold of 0.3 every
    sample would count as positive. The logged metrics and the report's confusion matrix must equal
    sklearn's on the model's own outputs."""
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

    from netspec.report.record import confusion

    data = separable(200, 4, 1, margin=0.0, seed=2)
    data["target"][::7] = 1 - data["target"][::7]  # not separable: the val split has mistakes to count
    spec = write(tmp_path, data, 4, 1, epochs=3)
    text = spec.read_text().replace("  seed: 0\n", "  seed: 0\n  task: {type: classification, threshold: 0.3}\n")
    spec.write_text(text.replace("  seed: 0\n", "  seed: 0\n  metrics: [accuracy, f1, confusion_matrix]\n", 1))
    session = session_for(spec)
    result = fit(session)
    val = session.data.arrays["val"]
    with torch.no_grad():
        out = session.models["model"](torch.as_tensor(val["features"])).numpy().reshape(-1)
    assert set(np.unique(out)) <= {0.0, 1.0}
    y = val["target"]
    row = result.history[-1]
    assert 0 < row["val.accuracy"] < 1
    assert row["val.accuracy"] == pytest.approx(accuracy_score(y, out), abs=1e-6)
    assert row["val.loss"] == pytest.approx(1 - accuracy_score(y, out), abs=1e-6)
    assert row["val.f1"] == pytest.approx(f1_score(y, out), abs=1e-6)
    assert row["val.confusion_matrix"] == confusion_matrix(y, out).tolist()
    assert confusion(session)["matrix"] == confusion_matrix(y, out).tolist()


def _train(spec, run_dir, resume: bool = False, reporter=None, overrides: tuple[str, ...] = ()):
    """The loop with checkpoints in ``run_dir`` (train_spec without the report's plots)."""
    from netspec.check import check
    from netspec.train.session import build_session

    run_dir.mkdir(exist_ok=True)
    ckpt = load_checkpoint(run_dir / "last.pt") if resume else None
    return fit(build_session(check(spec, list(overrides)), resume=ckpt), run_dir, reporter)


def _logged(history):
    return [(r["epoch"], r["train.errors"], r["train.loss"], r["val.loss"], r["val.accuracy"]) for r in history]


def test_resume_is_bit_exact_at_an_epoch_end_and_mid_epoch(tmp_path):
    """The rule has no optimizer state; what a resume needs is the weights, the data order and (mid-epoch)
    the mistakes counted so far in the epoch, which the program keeps in the checkpoint."""
    from netspec.errors import Interrupted
    from netspec.train import signals

    data = separable(200, 4, 1, margin=0.0, seed=3)
    data["target"][::5] = 1 - data["target"][::5]  # never converges: every epoch keeps updating
    spec = write(tmp_path, data, 4, 1, epochs=4, zeros=False)
    straight = _train(spec, tmp_path / "a")
    with pytest.raises(Interrupt):
        _train(spec, tmp_path / "b", reporter=StopAfter(2), overrides=("train.checkpoint.every=1",))  # last.pt: epoch 2
    after_epoch = _train(spec, tmp_path / "b", resume=True)

    class StopMidEpoch(StopAfter):
        def batch(self, epoch, index, samples):
            if epoch == 3 and index == 4:
                signals.STOP.signum = signal.SIGTERM

    with signals.graceful_stop():
        with pytest.raises(Interrupted):
            _train(spec, tmp_path / "c", reporter=StopMidEpoch(99))
    saved = load_checkpoint(tmp_path / "c" / "last.pt")
    assert saved["position"]["batches"] == 5 and saved["program"]["errors"] > 0
    mid_epoch = _train(spec, tmp_path / "c", resume=True)
    ref = load_checkpoint(tmp_path / "a" / "last.pt")["models"]["model"]
    for run, resumed, first in (("b", after_epoch, 3), ("c", mid_epoch, 3)):
        got = load_checkpoint(tmp_path / run / "last.pt")["models"]["model"]
        assert all(torch.equal(ref[k], got[k]) for k in ref), run
        assert _logged(resumed.history) == _logged(straight.history[first - 1:]), run
    other = _train(spec, tmp_path / "d", overrides=("train.seed=1",))  # another order does differ (the test can fail)
    assert [r["train.errors"] for r in other.history] != [r["train.errors"] for r in straight.history]


def test_early_stopping_restores_the_best_epoch(tmp_path):
    data = separable(200, 4, 1, margin=0.0, seed=4)
    data["target"][::4] = 1 - data["target"][::4]
    spec = write(tmp_path, data, 4, 1, epochs=30, zeros=False)
    text = spec.read_text().replace("  seed: 0\n", "  seed: 0\n  early_stopping: {monitor: val.accuracy, patience: 3}\n")
    spec.write_text(text)
    result = _train(spec, tmp_path / "run")
    accs = [r["val.accuracy"] for r in result.history]
    assert result.stopped_epoch == len(accs) < 30
    assert result.metrics["val.accuracy"] == max(accs) == accs[result.best_epoch - 1]
    best = load_checkpoint(tmp_path / "run" / "best.pt")
    assert best["epoch"] == result.best_epoch


PROBLEMS = {
    "hidden layer": ("    - {name: hidden, linear: {out_features: 8, activation: relu}}\n    - {name: unit, linear: {out_features: 1, "
                     "activation: step}}", ("model", "layers", 1), "comes after it"),
    "no step": ("    - {name: unit, linear: {out_features: 1}}", ("model", "layers", 0), "outputs its 0/1 decision"),
    "sigmoid unit": ("    - {name: unit, linear: {out_features: 1, activation: sigmoid}}", ("model", "layers", 0), "ends in sigmoid"),
    "C step units": ("    - {name: unit, linear: {out_features: 3, activation: step}}", ("model", "layers", 0), "argmax of C scores"),
    "dropconnect": ("    - {name: unit, linear: {out_features: 1, activation: step, dropconnect: 0.2}}", ("model", "layers", 0),
                    "dropconnect does not apply"),
}


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_validate_rejects_what_is_not_one_affine_unit(write_spec, name):
    layers, path, message = PROBLEMS[name]
    text = SPEC.format(d=4, c=1, act="", init="", lr=1.0, epochs=1).replace(
        "    - {name: unit, linear: {out_features: 1}}", layers).replace("data.npz", "missing.npz")
    found = problems(write_spec(text))
    assert any(p == path and message in m for p, m in found), found


@pytest.mark.parametrize("setting,path", [
    ("optimizer: sgd", ("train", "optimizer")), ("loss: bce_with_logits", ("train", "loss")),
    ("schedule: {type: cosine}", ("train", "schedule")), ("grad_clip: {type: norm}", ("train", "grad_clip")),
    ("accumulate: 2", ("train", "accumulate")), ("precision: bf16-mixed", ("train", "precision")),
    ("regularization: {l2: {weight: 0.01}}", ("train", "regularization", "l2")), ("metrics: [auroc]", ("train", "metrics", 0)),
    ("task: regression", ("train", "task")), ("early_stopping: {monitor: val.auroc}", ("train", "early_stopping", "monitor")),
])
def test_validate_rejects_settings_the_rule_does_not_use(write_spec, setting, path):
    text = SPEC.format(d=4, c=1, act=", activation: step", init="", lr=1.0, epochs=1) + f"  {setting}\n"
    found = problems(write_spec(text.replace("data.npz", "missing.npz")))
    assert [p for p, _ in found] == [path], found


def test_validate_rejects_a_non_perceptron_model_through_the_cli(write_spec):
    text = SPEC.format(d=4, c=1, act="", init="", lr=1.0, epochs=1).replace(
        "    - {name: unit, linear: {out_features: 1}}",
        "    - {name: hidden, linear: {out_features: 8, activation: tanh}}\n"
        "    - {name: unit, linear: {out_features: 1, activation: step}}")
    path = write_spec(text)
    proc = run_cli("validate", str(path))
    assert proc.returncode == 1, proc.stderr
    assert f"{path}:8:7: model.layers[1] (linear 'unit'): the perceptron program trains one affine unit" in proc.stderr
    assert "hint: a perceptron is `- flatten` (optional)" in proc.stderr and "Traceback" not in proc.stderr


STEP_MLP = """netspec: 1
name: step-mlp
inputs:
  features: {shape: [30]}
model:
  layers:
    - {name: unit, linear: {out_features: 1, activation: step}}
data:
  source: {type: sklearn, name: breast_cancer}
train:
  epochs: 1
"""


def test_validate_warns_when_gradient_descent_meets_a_step(write_spec):
    path = write_spec(STEP_MLP)
    proc = run_cli("validate", str(path))
    assert proc.returncode == 0, proc.stderr
    assert (f"{path}:7:7: warning: model.layers[0] (linear 'unit'): its step activation has zero gradient almost "
            "everywhere: gradient descent never changes the 31 parameter(s) that reach the loss only through it (unit)") in proc.stderr
    assert "train.program: perceptron" in proc.stderr
    quiet = run_cli("validate", str(path), "--set", "train.program=perceptron")
    assert quiet.returncode == 0 and "warning" not in quiet.stderr + quiet.stdout, quiet.stderr


@pytest.mark.parametrize("layers,warned", [
    # a step layer between two trained layers starves the first one only
    ("- {name: hidden, linear: {out_features: 8}}\n    - {name: gate, step: {}}\n    - {name: out, linear: {out_features: 2}}",
     {("model", "layers", 1): "248 parameter(s)"}),
    # a step on the input (binarized features) starves nothing: nothing trainable comes before it
    ("- {name: binarize, heaviside: {}}\n    - {name: out, linear: {out_features: 2}}", {}),
    # a skip connection around the step still carries gradient to the first layer
    ("- {name: hidden, linear: {out_features: 8}}\n    - {name: gate, step: {}}\n    - {name: both, add: {}, inputs: [hidden, gate]}\n"
     "    - {name: out, linear: {out_features: 2}}", {}),
    ("- {name: hidden, linear: {out_features: 8, activation: sigmoid}}\n    - {name: out, linear: {out_features: 2}}", {}),
])
def test_the_warning_names_the_step_that_starves_parameters(write_spec, layers, warned):
    from netspec.check import check

    text = STEP_MLP.replace("- {name: unit, linear: {out_features: 1, activation: step}}", layers)
    got = {w.path: w.message for w in check(write_spec(text)).warnings if "zero gradient" in w.message}
    assert set(got) == set(warned), got
    for path, count in warned.items():
        assert count in got[path]


def test_zero_gradient_comes_from_the_layer_registry():
    from netspec.layers import all_layers

    flagged = {tag for tag, cls in all_layers().items() if cls.zero_gradient}
    assert flagged == {"step", "heaviside"}
    x = torch.randn(5, 4, requires_grad=True)
    for tag in flagged:  # what the attribute claims, on the torch modules: no gradient reaches x at all
        assert not all_layers()[tag]().build((4,))(x).requires_grad, tag
    assert all_layers()["sigmoid"]().build((4,))(x).requires_grad


def test_example_reaches_its_stated_accuracy_through_the_cli(tmp_path):
    """examples/perceptron.yaml states val accuracy 0.974 after 20 epochs (0.89–0.98 from epoch to epoch)."""
    proc = run_cli("train", str(EXAMPLES / "perceptron.yaml"), "--json", "--quiet", "--out", str(tmp_path / "run"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout)
    assert summary["epochs"] == 20
    assert summary["metrics"]["val.accuracy"] >= 0.95
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert all(r["lr"] == 1.0 and r["train.errors"] > 0 for r in rows)  # not separable: it keeps making mistakes
    assert min(r["val.accuracy"] for r in rows) >= 0.85
    metrics = evaluate_checkpoint(EXAMPLES / "perceptron.yaml", tmp_path / "run" / "last.pt")  # what `netspec evaluate` runs
    assert metrics["val.accuracy"] == pytest.approx(summary["metrics"]["val.accuracy"], abs=1e-6)
    assert metrics["val.loss"] == pytest.approx(1 - metrics["val.accuracy"], abs=1e-6)
    # netspec predict gives the unit's decisions (a sigmoid of the 0/1 output would call every sample positive)
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer()
    with open(tmp_path / "x.csv", "w", encoding="utf-8") as fh:
        fh.write(",".join(bunch.feature_names) + "\n")
        fh.writelines(",".join(map(str, row)) + "\n" for row in bunch.data)
    proc = run_cli("predict", str(EXAMPLES / "perceptron.yaml"), "--checkpoint", str(tmp_path / "run"), "--input",
                   str(tmp_path / "x.csv"), "--output", str(tmp_path / "p.csv"))
    assert proc.returncode == 0, proc.stderr
    labels = [line.split(",")[0] for line in (tmp_path / "p.csv").read_text().splitlines()[1:]]
    assert set(labels) == {"malignant", "benign"}
    assert sum((lab == "benign") == bool(y) for lab, y in zip(labels, bunch.target)) / len(labels) > 0.9
