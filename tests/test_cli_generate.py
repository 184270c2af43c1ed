"""`netspec generate`: text from a trained language model, and the exit codes of its failure paths
(a missing checkpoint, a spec that is not a language model, a checkpoint of another model: 1;
bad or contradictory options: 2), without tracebacks."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from conftest import EXAMPLES, run_cli
from netspec.cli.app import app
from netspec.train.api import train_spec

CORPUS = "the cat sat on the mat. the dog sat on the log. " * 40

TINY_LM = """netspec: 1
name: tiny-lm
inputs:
  tokens: {shape: [seq], dtype: int64}
model:
  layers:
    - {name: embed, embedding: {num_embeddings: 24, embedding_dim: 16}}
    - {name: rnn, gru: {hidden_size: 32, returns: sequence}}
    - {name: logits, linear: {out_features: 24}}
data:
  source: {type: text, path: corpus.txt, tokenize: char, seq_len: 24}
  split: {val: 0.2, seed: 0}
train:
  program:
    type: language_model
    generate: {strategy: sample, temperature: 0.5, max_tokens: 30}
  epochs: 8
  batch_size: 16
  optimizer: {type: adam, lr: 0.01}
"""


@pytest.fixture(scope="module")
def lm(tmp_path_factory):
    root = tmp_path_factory.mktemp("gen")
    (root / "corpus.txt").write_text(CORPUS)
    spec = root / "lm.yaml"
    spec.write_text(TINY_LM)
    train_spec(spec, out=root / "run")
    return spec, root / "run"


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def test_generate_prints_the_prompt_and_its_continuation(lm):
    spec, run = lm
    res = invoke("generate", str(spec), "--checkpoint", str(run), "--prompt", "the ", "--strategy", "greedy",
                 "--max-tokens", "20")
    assert res.exit_code == 0, res.output
    text = res.stdout.rstrip("\n")
    assert text.startswith("the ") and len(text) == 24
    assert set(text) <= set(CORPUS)  # characters of the corpus, no <unk>/<pad>
    words = set(CORPUS.split())
    assert sum(w in words for w in text.split()) >= 4  # mostly the corpus's words, learned


def test_defaults_come_from_the_spec_and_options_override_them(lm):
    spec, run = lm
    common = ["generate", str(spec), "--checkpoint", str(run), "--prompt", "the", "--json"]
    a = json.loads(invoke(*common, "--seed", "1").stdout)
    b = json.loads(invoke(*common, "--seed", "1").stdout)
    c = json.loads(invoke(*common, "--seed", "2", "--strategy", "sample", "--temperature", "3.0").stdout)
    assert a == b and a["strategy"] == "sample" and len(a["tokens"]) == 30  # program.generate's settings
    assert c["tokens"] != a["tokens"]
    beam = json.loads(invoke(*common, "--strategy", "beam", "--beam-size", "3", "--max-tokens", "12").stdout)
    assert beam["strategy"] == "beam" and len(beam["tokens"]) == 12 and beam["text"] == "the" + beam["completion"]


def test_missing_checkpoint_exits_1_with_a_diagnostic(lm, tmp_path):
    spec, _ = lm
    proc = run_cli("generate", str(spec), "--checkpoint", str(tmp_path / "nope.pt"), "--prompt", "the")
    assert proc.returncode == 1 and "checkpoint not found" in proc.stderr and "Traceback" not in proc.stderr


def test_a_spec_that_is_not_a_language_model_exits_1(lm):
    _, run = lm
    spec = EXAMPLES / "digits_mlp.yaml"
    proc = run_cli("generate", str(spec), "--checkpoint", str(run), "--prompt", "the")
    assert proc.returncode == 1 and "not a language model" in proc.stderr and "Traceback" not in proc.stderr
    assert str(spec) + ":" in proc.stderr  # located in the spec
    res = invoke("generate", str(EXAMPLES / "seq2seq_reverse.yaml"), "--checkpoint", str(run), "--prompt", "1")
    assert res.exit_code == 1 and "not a language model" in res.output


def test_a_checkpoint_of_another_model_exits_1(lm, write_spec):
    spec, run = lm
    other = write_spec(spec.read_text().replace("hidden_size: 32", "hidden_size: 16"), name="other.yaml")
    (other.parent / "corpus.txt").write_text(CORPUS)
    res = invoke("generate", str(other), "--checkpoint", str(run), "--prompt", "the")
    assert res.exit_code == 1 and "differs from the one the checkpoint was trained with" in res.output


@pytest.mark.parametrize("args,message", [
    (["--strategy", "nucleus"], "nucleus"),
    (["--top-p", "1.5"], "--top-p"),
    (["--strategy", "sample", "--top-p", "0"], "--top-p"),
    (["--temperature", "-1"], "--temperature"),
    (["--beam-size", "0"], "--beam-size"),
    (["--max-tokens", "0"], "--max-tokens"),
    (["--strategy", "greedy", "--top-k", "3"], "--top-k applies to --strategy sample"),
    (["--strategy", "sample", "--beam-size", "3"], "--beam-size applies to --strategy beam"),
    (["--length-penalty", "1.0"], "--length-penalty applies to --strategy beam"),
])
def test_bad_options_exit_2(lm, args, message):
    spec, run = lm
    res = invoke("generate", str(spec), "--checkpoint", str(run), "--prompt", "the", *args)
    assert res.exit_code == 2, res.output
    assert message in res.output


def test_empty_or_missing_prompt_exits_2(lm):
    spec, run = lm
    assert invoke("generate", str(spec), "--checkpoint", str(run), "--prompt", "").exit_code == 2
    assert invoke("generate", str(spec), "--checkpoint", str(run)).exit_code == 2
