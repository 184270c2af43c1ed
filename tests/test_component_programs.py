"""Registry-wide tests of the training programs: every tag in ``netspec.programs.PROGRAMS`` has a
case here (a tag without one fails), its EXAMPLE validates as ``train.program``, and one short
end-to-end run (tiny data, one epoch) trains its models, after which its evaluation loss on a
validation batch equals a direct torch computation from the trained models (or, where the program
draws its pairs at random, the validation loss went down)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
import yaml

from netspec.check import check
from netspec.programs import PROGRAMS
from netspec.spec.train import TrainSpec

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

DISTILL = """
netspec: 1
name: distill-blobs
models:
  teacher:
    inputs: {features: {shape: [8]}}
    layers:
      - {name: hidden, linear: {out_features: 32, activation: relu}}
      - {name: drop, dropout: {p: 0.5}}
      - {name: logits, linear: {out_features: 3}}
    outputs: [logits]
  student:
    inputs: {features: {shape: [8]}}
    layers:
      - {name: logits, linear: {out_features: 3}}
    outputs: [logits]
data:
  source: {type: generated, kind: blobs, num_samples: 120, num_classes: 3, seed: 0}
  split: {val: 0.25, seed: 0}
train:
  program: {type: distill, teacher_checkpoint: teacher.pt, temperature: 3.0, alpha: 0.7}
  epochs: 1
  batch_size: 16
  optimizers:
    student: {type: adam, lr: 0.01}
"""


def run(session: Any, name: str, batch: dict) -> Any:
    """A model's direct forward pass on the batch's fields."""
    model = session.models[name]
    return model(*[batch[session.data.inputs[n]] for n in model.input_names])


def ce(session: Any, batch: dict, target: str, ignore_index: int = -100) -> torch.Tensor:
    """Cross-entropy of the model's logits (classes last) against class indices, per position."""
    logits, y = run(session, "model", batch), batch[target]
    return F.cross_entropy(logits.flatten(0, -2), y.flatten(), ignore_index=ignore_index)


def vae_loss(session: Any, batch: dict) -> torch.Tensor:
    x = batch["image"]
    mu, logvar = run(session, "encoder", batch)[:2]
    out = session.models["decoder"](mu)
    rec = F.mse_loss(out, x, reduction="sum") / len(x)
    kl = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).sum(1).mean()
    return rec + 1.0 * kl


def gan_loss(session: Any, batch: dict) -> torch.Tensor:
    """Non-saturating discriminator loss: softplus(−D(x)) + softplus(D(G(z))), z the program's next draw."""
    real = batch["image"]
    torch.manual_seed(123)
    z = torch.randn(len(real), *session.plan.roles["noise_shape"])
    fake = session.models["generator"](z)
    d = session.models["discriminator"]
    return F.softplus(-d(real).reshape(-1)).mean() + F.softplus(d(fake).reshape(-1)).mean()


def perceptron_errors(session: Any, batch: dict) -> torch.Tensor:
    unit = session.models["model"].get_submodule(session.plan.roles["unit"])
    x = batch[session.data.inputs["features"]].float().flatten(1)
    decision = (x @ unit.weight.T + unit.bias > 0).float().reshape(-1)
    return (decision != batch["target"].float()).float().mean()


def distill_loss(session: Any, batch: dict) -> torch.Tensor:
    """alpha · Σ p_t (log p_t − log p_s) / N · T² + (1 − alpha) · (−log softmax(s)[y]), written out."""
    s, t, y = run(session, "student", batch), run(session, "teacher", batch), batch["target"]
    temp, alpha = 3.0, 0.7
    log_ps = (s / temp) - torch.logsumexp(s / temp, 1, keepdim=True)
    log_pt = (t / temp) - torch.logsumexp(t / temp, 1, keepdim=True)
    kd = (log_pt.exp() * (log_pt - log_ps)).sum() / len(s) * temp ** 2
    hard = -(s - torch.logsumexp(s, 1, keepdim=True)).gather(1, y[:, None]).mean()
    return alpha * kd + (1 - alpha) * hard


def _prepare_distill(tmp: Path) -> Path:
    from netspec.compiler import compile_model

    spec = tmp / "distill.yaml"
    spec.write_text(DISTILL, encoding="utf-8")
    teacher = compile_model(check(spec).graphs["teacher"], seed=7)
    torch.save(teacher.state_dict(), tmp / "teacher.pt")
    return spec


#: tag -> (spec (or a function writing one into tmp_path), overrides, direct loss on a val batch or "decreases")
CASES: dict[str, tuple[Any, list[str], Any]] = {
    "supervised": (EXAMPLES / "digits_mlp.yaml", [], lambda s, b: ce(s, b, "target")),
    "language_model": (EXAMPLES / "char_lm_stdlib.yaml", ["data.source.max_chars=6000", "train.batch_size=8"],
                       lambda s, b: ce(s, b, "next")),
    "seq2seq": (EXAMPLES / "seq2seq_reverse.yaml", ["data.source.num_samples=160"],
                lambda s, b: ce(s, b, "tgt_out", ignore_index=0)),
    "segmentation": (EXAMPLES / "unet_shapes.yaml", ["data.source.num_samples=40", "train.loss=cross_entropy",
                                                     "train.batch_size=8"],
                     lambda s, b: F.cross_entropy(run(s, "model", b), b["mask"])),
    "autoencoder": (EXAMPLES / "digits_autoencoder.yaml", ["train.loss=mse"],
                    lambda s, b: F.mse_loss(run(s, "model", b), b["image"])),
    "vae": (EXAMPLES / "digits_vae.yaml", ["train.program.reconstruction=mse"], vae_loss),
    "gan": (EXAMPLES / "digits_gan.yaml", ["train.program.samples=0"], gan_loss),
    "contrastive": (EXAMPLES / "digits_siamese.yaml", ["train.program.knn_reference=0"], "decreases"),
    "perceptron": (EXAMPLES / "perceptron.yaml", [], perceptron_errors),
    "distill": (_prepare_distill, [], distill_loss),
}


def test_every_program_has_a_case() -> None:
    assert set(CASES) == set(PROGRAMS.tags())


@pytest.mark.parametrize("tag", PROGRAMS.tags())
def test_example_validates(tag: str) -> None:
    cls = PROGRAMS.get(tag)
    data = yaml.safe_load(cls.EXAMPLE)
    program = TrainSpec.model_validate({"program": data}).program
    assert type(program) is cls
    assert program.model_dump(mode="json", exclude_unset=True) == data
    assert cls.runtime.startswith("netspec.train.programs.")


@pytest.mark.parametrize("tag", PROGRAMS.tags())
def test_program_trains(tag: str, tmp_path: Path) -> None:
    from netspec.train.loop import evaluate_split, fit
    from netspec.train.programs import TrainProgram
    from netspec.train.session import build_session

    source, overrides, reference = CASES[tag]
    spec = source(tmp_path) if callable(source) and not isinstance(source, Path) else source
    checked = check(spec, overrides + ["train.epochs=1", "train.early_stopping=null", "train.device=cpu"])
    assert checked.spec.train.program.type == tag
    session = build_session(checked)
    program = session.program
    assert isinstance(program, TrainProgram) and program.name == tag
    before = {name: [p.detach().clone() for p in m.parameters()] for name, m in session.models.items()}
    loss_before = evaluate_split(session, "val")["val.loss"] if reference == "decreases" else None
    result = fit(session)
    assert result.epochs == 1 and torch.isfinite(torch.tensor(result.metrics["train.loss"]))
    for name, model in session.models.items():
        changed = any(not torch.equal(a, p) for a, p in zip(before[name], model.parameters()))
        assert changed == (name in program.models), f"{name}: trained {changed}, stepped by the program {name in program.models}"
    if reference == "decreases":
        assert evaluate_split(session, "val")["val.loss"] < loss_before
        return
    for m in session.models.values():
        m.eval()
    batch = next(iter(session.data.loaders["val"].epoch()))
    with torch.no_grad():
        torch.manual_seed(123)  # the programs that draw noise (gan) draw it from the global generator
        got = program.eval_step(batch)
        want = reference(session, batch)
    assert float(got) == pytest.approx(float(want), rel=1e-5, abs=1e-6)


def test_distillation_loss_by_hand() -> None:
    """The distill runtime's loss on two samples, against the formula computed with plain Python floats."""
    import math

    from netspec.train.programs.distill import distillation_loss

    s = torch.tensor([[1.0, 0.0, -1.0], [0.5, 2.0, 0.0]])
    t = torch.tensor([[2.0, 1.0, 0.0], [0.0, 0.0, 3.0]])
    y = torch.tensor([0, 1])
    temp, alpha = 2.0, 0.25

    def softmax(row: list[float], k: float) -> list[float]:
        e = [math.exp(v / k) for v in row]
        return [v / sum(e) for v in e]

    kd = 0.0
    for srow, trow in zip(s.tolist(), t.tolist()):
        ps, pt = softmax(srow, temp), softmax(trow, temp)
        kd += sum(q * math.log(q / p) for p, q in zip(ps, pt))
    kd = kd / 2 * temp ** 2
    hard = -sum(math.log(softmax(row, 1.0)[c]) for row, c in zip(s.tolist(), y.tolist())) / 2
    loss, got_kd, got_ce = distillation_loss(s, t, y, temp, alpha)
    assert float(got_kd) == pytest.approx(kd, rel=1e-6)
    assert float(got_ce) == pytest.approx(hard, rel=1e-6)
    assert float(loss) == pytest.approx(alpha * kd + (1 - alpha) * hard, rel=1e-6)


def test_distill_needs_the_teachers_weights(tmp_path: Path) -> None:
    from netspec.errors import SpecError

    spec = tmp_path / "distill.yaml"
    spec.write_text(DISTILL.replace("teacher_checkpoint: teacher.pt, ", ""), encoding="utf-8")
    with pytest.raises(SpecError) as info:  # the one error: no cascade from a missing key
        check(spec)
    assert info.value.path == ("train", "program") and "teacher's trained weights" in info.value.message
