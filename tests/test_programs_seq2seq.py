"""The seq2seq program: the generated sequence tasks, validate's located rules, teacher forcing
(ratio 0 equals feeding greedy predictions back step by step, with the same loss and gradients),
the exact-match rate, beam decoding at evaluation, and the example's stated quality."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch

from conftest import EXAMPLES, run_cli
from netspec.check import check
from netspec.compiler import compile_model
from netspec.data.sources import load_source
from netspec.errors import NetspecError, SpecErrors
from netspec.generate.decode import greedy
from netspec.spec.data import DataSpec
from netspec.train.api import train_spec
from netspec.train.programs import ProgramContext
from netspec.train.programs.seq2seq import Seq2Seq, Seq2SeqMetrics
from netspec.train.session import resolve_plan

EXAMPLE = EXAMPLES / "seq2seq_reverse.yaml"


def _table(**source):
    spec = DataSpec.model_validate({"source": {"type": "sequence_task", **source}})
    return load_source(spec.source, None, False)


@pytest.mark.parametrize("task,rule", [("reverse", lambda d: d[::-1]), ("sort", sorted), ("copy", list)])
def test_sequence_task_fields(task, rule):
    t = _table(task=task, num_samples=300, min_len=2, max_len=6, seed=1).fields
    assert t["src"].shape == (300, 6) and t["tgt_in"].shape == t["tgt_out"].shape == (300, 7)
    strings = set()
    for src, n, tin, tout in zip(t["src"], t["src_lengths"], t["tgt_in"], t["tgt_out"]):
        digits = [int(v) - 3 for v in src[:n]]
        assert 2 <= n <= 6 and all(0 <= d <= 9 for d in digits) and (src[n:] == 0).all()
        want = [d + 3 for d in rule(digits)]
        assert tin[: n + 1].tolist() == [1] + want and (tin[n + 1:] == 0).all()
        assert tout[: n + 1].tolist() == want + [2] and (tout[n + 1:] == 0).all()
        strings.add(tuple(digits))
    assert len(strings) == 300  # distinct: no string in both splits


def test_too_many_samples_is_a_located_data_error():
    from netspec.errors import DataError

    with pytest.raises(DataError, match="only 110 distinct digit strings") as info:
        _table(num_samples=200, min_len=1, max_len=2)
    assert info.value.path == ("data", "source", "num_samples")


def _problems(write_spec, *changes) -> dict:
    text = EXAMPLE.read_text()
    for old, new in changes:
        assert old in text
        text = text.replace(old, new)
    with pytest.raises(NetspecError) as info:
        check(write_spec(text))
    errors = info.value.errors if isinstance(info.value, SpecErrors) else [info.value]
    return {e.path: e.message for e in errors}


def test_validate_locates_seq2seq_rules(write_spec):
    got = _problems(write_spec, ("decoder_input: tgt_in", "decoder_input: target"),
                    ("metrics: [exact_match, accuracy]", "metrics: [exact_match, accuracy]\n  task: classification"))
    assert "is not a model input" in got[("train", "program", "decoder_input")]
    assert "trains its own task" in got[("train", "task")]
    got = _problems(write_spec, ("{pad: 0, sos: 1, eos: 2}", "{pad: 0, sos: 1, eos: 13}"),
                    ("decode: {strategy: greedy}", "decode: {strategy: sample}"))
    assert "outside the vocabulary of 13" in got[("train", "program", "special_tokens", "eos")]
    assert "not sampling" in got[("train", "program", "decode", "strategy")]
    got = _problems(write_spec, ("metrics: [exact_match, accuracy]", "metrics: [exact_match, r2]"))
    assert "does not fit the task (seq2seq)" in got[("train", "metrics", 1)]


def test_validate_cli_warns_about_a_loss_that_learns_padding(write_spec):
    text = EXAMPLE.read_text().replace("  metrics: [exact_match, accuracy]",
                                       "  loss: {type: cross_entropy}\n  metrics: [exact_match, accuracy]")
    spec = write_spec(text)
    proc = run_cli("validate", str(spec))
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "loss: {type: cross_entropy}" in ln)
    assert proc.returncode == 0 and "padded steps are learned as targets" in proc.stderr + proc.stdout
    assert f"{spec}:{line}:" in proc.stderr + proc.stdout


@pytest.fixture(scope="module")
def program():
    checked = check(EXAMPLE, ["data.source.num_samples=64"])
    plan = resolve_plan(checked)
    torch.manual_seed(0)
    model = compile_model(checked.graph, seed=0)
    fields = {n: n for n in model.input_names}
    table = load_source(checked.spec.data.source, EXAMPLE.parent, False)
    batch = {k: torch.as_tensor(v[:16]) for k, v in table.fields.items()}
    ctx = ProgramContext({"model": model}, {"model": model}, plan, fields, torch.device("cpu"), checked.spec.train)
    return Seq2Seq(ctx), plan, batch


def test_ratio_one_keeps_the_target_prefix(program):
    prog, plan, batch = program
    prog.config = prog.config.model_copy(update={"teacher_forcing_ratio": 1.0})
    assert torch.equal(prog.mixed_prefix(batch), batch["tgt_in"])


def test_ratio_zero_feeds_back_greedy_predictions_with_the_same_loss_and_gradients(program):
    prog, plan, batch = program
    prog.config = prog.config.model_copy(update={"teacher_forcing_ratio": 0.0})
    model = prog.model.eval()  # no dropout in this model; eval keeps the comparison exact
    args = [batch["src"], batch["src_lengths"]]
    mixed = prog.mixed_prefix(batch)
    # reference: the argmax chain from <sos>, one step at a time
    chain = greedy(lambda p: model(*args, p)[:, -1], batch["tgt_in"][:, :1], batch["tgt_in"].shape[1] - 1)
    real = batch["tgt_in"] != 0
    real[:, 0] = False
    assert torch.equal(mixed[:, 1:][real[:, 1:]], chain[real[:, 1:]])
    assert (mixed[:, 0] == 1).all() and torch.equal(mixed[~real & (batch["tgt_in"] == 0)], batch["tgt_in"][~real & (batch["tgt_in"] == 0)])
    # one pass over the mixed prefix == the step loop that feeds predictions back (loss and gradients)
    ce = torch.nn.CrossEntropyLoss(ignore_index=0)
    model.zero_grad()
    one = ce(model(*args, mixed).reshape(-1, 13), batch["tgt_out"].reshape(-1))
    one.backward()
    g_one = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    steps = torch.stack([model(*args, mixed[:, : t + 1])[:, -1] for t in range(mixed.shape[1])], 1)
    loop = ce(steps.reshape(-1, 13), batch["tgt_out"].reshape(-1))
    loop.backward()
    assert one.item() == pytest.approx(loop.item(), rel=1e-5)
    for a, b in zip(g_one, (p.grad for p in model.parameters())):
        assert torch.allclose(a, b, atol=1e-5, rtol=1e-4)


def test_exact_match_counts_whole_sequences(program):
    _, plan, _ = program
    m = Seq2SeqMetrics(replace(plan, metrics=[m for m in plan.metrics if m.type == "exact_match"]), torch.device("cpu"), 0)
    target = torch.tensor([[5, 6, 7, 2, 0]] * 4)
    preds = torch.tensor([[5, 6, 7, 2, 0],    # right
                          [5, 6, 7, 2, 9],    # right: after <eos> nothing counts (decoding pads there)
                          [5, 6, 2, 0, 0],    # stopped early
                          [5, 6, 7, 8, 2]])   # one token too many
    m.update_decoded(preds, target)
    assert m.compute() == {"exact_match": 0.5}


def test_beam_size_one_decodes_like_greedy(program):
    prog, _, batch = program
    prog.model.eval()
    prog.config = prog.config.model_copy(update={"decode": prog.config.decode.model_copy(update={"strategy": "greedy"})})
    g = prog.decode(batch)
    prog.config = prog.config.model_copy(update={"decode": prog.config.decode.model_copy(update={"strategy": "beam", "beam_size": 1})})
    assert torch.equal(prog.decode(batch), g)
    assert g.shape == batch["tgt_out"].shape


def test_short_training_learns_reversal_and_beam_evaluation_runs(tmp_path):
    """A short run (10-20 s on one CPU core): far above chance on whole strings; beam evaluation gives
    the same keys and a rate close to greedy's."""
    overrides = ["data.source.num_samples=2000", "train.epochs=4", "train.early_stopping=null"]
    result = train_spec(EXAMPLE, overrides, out=tmp_path / "run")
    assert result.metrics["val.accuracy"] > 0.9
    assert result.metrics["val.exact_match"] > 0.5
    from netspec.train.api import evaluate_checkpoint

    beam = evaluate_checkpoint(EXAMPLE, tmp_path / "run" / "last.pt", overrides + ["train.program.decode.strategy=beam",
                                                                                   "train.program.decode.beam_size=3"])
    assert abs(beam["val.exact_match"] - result.metrics["val.exact_match"]) < 0.1
    assert beam["val.accuracy"] == pytest.approx(result.metrics["val.accuracy"], abs=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("task,bar", [("reverse", 0.97), ("sort", 0.97)])
def test_example_reaches_its_stated_exact_match(tmp_path, task, bar):
    proc = run_cli("train", str(EXAMPLE), "--set", f"data.source.task={task}", "--json", "--quiet", "--out", str(tmp_path / "r"),
                   timeout=1800)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1])["metrics"]["val.exact_match"] >= bar
