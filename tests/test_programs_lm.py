"""The language_model program: the stdlib_text corpus (Python's own docstrings), the unigram
baseline, validate's located rules, perplexity = exp(loss), and the example's stated quality:
validation perplexity well below the unigram baseline of the same data, and generated text."""

from __future__ import annotations

import inspect
import json
import math

import numpy as np
import pytest

from conftest import EXAMPLES, run_cli
from netspec.check import check
from netspec.data.corpus import ASCII_VOCAB, stdlib_table, stdlib_text
from netspec.errors import DataError, NetspecError, SpecErrors
from netspec.sources.stdlib_text import StdlibText
from netspec.train.api import train_spec
from netspec.train.programs.language_model import unigram_perplexity
from netspec.train.session import build_session

EXAMPLE = EXAMPLES / "char_lm_stdlib.yaml"


def _source(**kw) -> StdlibText:
    return StdlibText.model_validate({"type": "stdlib_text", **kw})


def test_corpus_holds_the_stdlib_docstrings():
    import json as json_module

    text = stdlib_text(_source(modules=["json"], max_chars=None))
    # the same documentation strings the interpreter reports for the live objects
    for obj in (json_module, json_module.dumps, json_module.JSONDecoder.decode):
        assert inspect.getdoc(obj) in text
    source = stdlib_text(_source(modules=["json"], content="source", max_chars=None))
    assert "def dumps(" in source and "def dumps(" not in text
    assert len(stdlib_text(_source(max_chars=5000))) == 5000


def test_windows_shift_by_one_over_a_fixed_ascii_vocabulary():
    table = stdlib_table(_source(modules=["textwrap"], seq_len=32, max_chars=20000))
    tokens, nxt = table.fields["tokens"], table.fields["next"]
    assert tokens.shape[1] == 32 and (tokens[:, 1:] == nxt[:, :-1]).all()
    assert (tokens[1:, 0] == nxt[:-1, -1]).all()  # stride = seq_len: windows follow each other
    assert table.vocab == ASCII_VOCAB and len(ASCII_VOCAB) == 98 and tokens.max() < 98
    text = stdlib_text(_source(modules=["textwrap"], max_chars=20000))
    decoded = "".join(ASCII_VOCAB[i] for i in tokens[0])
    want = "".join(c if c in ASCII_VOCAB[2:] else "<unk>" for c in text[:32])
    assert decoded == want


def test_word_vocabulary_keeps_the_most_frequent():
    table = stdlib_table(_source(modules=["json"], tokenize="whitespace", vocab="corpus", max_vocab=50, seq_len=16))
    words = stdlib_text(_source(modules=["json"])).split()
    counts = {w: words.count(w) for w in set(words)}
    top = sorted(counts, key=lambda w: (-counts[w], w))[:50]
    assert table.vocab == ["<pad>", "<unk>"] + top
    assert (table.fields["tokens"] == 1).any()  # rarer words are <unk>


def test_unknown_module_and_bad_vocabulary_are_located():
    with pytest.raises(DataError, match="not a pure-Python module") as info:
        stdlib_table(_source(modules=["json", "no_such_module"]))
    assert info.value.path == ("data", "source", "modules", 1)
    with pytest.raises(ValueError, match="vocab ascii is a character vocabulary"):
        _source(tokenize="whitespace")


def test_unigram_perplexity_by_hand():
    # add-one over 2 ids: p(0) = (2 + 1) / (3 + 2) = 0.6, p(1) = 0.4 -> exp(-(ln 0.6 + ln 0.4) / 2)
    assert unigram_perplexity(np.array([0, 0, 1]), np.array([0, 1])) == pytest.approx(1 / math.sqrt(0.24))
    assert unigram_perplexity(np.array([[0, 0, 1, -100]]), np.array([[0, 1, -100]])) == pytest.approx(1 / math.sqrt(0.24))


def _problems(write_spec, *changes) -> dict:
    text = EXAMPLE.read_text()
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new)
    with pytest.raises(NetspecError) as info:
        check(write_spec(text))
    errors = info.value.errors if isinstance(info.value, SpecErrors) else [info.value]
    return {e.path: e.message for e in errors}


def test_validate_locates_language_model_rules(write_spec):
    got = _problems(write_spec, ("chars: {shape: [seq]", "chars: {shape: [128]"),
                    ("top_p: 0.95, max_tokens", "top_k: 120, max_tokens"))
    assert "fixed length 128" in got[("inputs", "chars", "shape")]
    assert "top_k 120 is larger than the vocabulary (98 tokens)" in got[("train", "program", "generate", "top_k")]
    got = _problems(write_spec, ("{name: logits, linear: {out_features: 98}}",
                                 "{name: pooled, mean: {dim: 1}}\n    - {name: logits, linear: {out_features: 98}}"))
    assert any("returns (L, V) token logits" in m for m in got.values())


def test_validate_warns_about_options_the_strategy_ignores(write_spec):
    spec = write_spec(EXAMPLE.read_text().replace("strategy: sample, temperature: 0.8", "strategy: greedy, temperature: 0.8"))
    checked = check(spec)
    assert [(w.path, w.message) for w in checked.warnings] == [
        (("train", "program", "generate", "temperature"), "temperature applies to strategy sample, not greedy"),
        (("train", "program", "generate", "top_p"), "top_p applies to strategy sample, not greedy")]


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    """The example on the first 60,000 characters in windows of 64, batches of 16, for 3 epochs
    (about 15 s on one CPU core)."""
    out = tmp_path_factory.mktemp("lm") / "run"
    overrides = ["data.source.max_chars=60000", "data.source.seq_len=64", "train.batch_size=16", "train.epochs=3",
                 "train.early_stopping=null"]
    result = train_spec(EXAMPLE, overrides, out=out)
    return result, out, overrides


def test_short_run_beats_the_unigram_baseline_and_perplexity_is_exp_loss(short_run):
    result, out, overrides = short_run
    session = build_session(check(EXAMPLE, overrides))
    arrays = session.data.arrays
    baseline = unigram_perplexity(arrays["train"]["next"], arrays["val"]["next"])
    assert 20 < baseline < 40  # character frequencies of English prose with code
    ppl = result.metrics["val.perplexity"]
    assert ppl < 0.5 * baseline
    assert ppl == pytest.approx(math.exp(result.metrics["val.loss"]), rel=1e-4)


def test_generate_prints_text_from_the_short_run(short_run):
    _, out, overrides = short_run
    sets = [a for o in overrides for a in ("--set", o)]
    proc = run_cli("generate", str(EXAMPLE), "--checkpoint", str(out), "--prompt", "Return the ", "--max-tokens", "80",
                   "--strategy", "greedy", *sets)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout.rstrip("\n")
    assert text.startswith("Return the ") and len(text) >= len("Return the ") + 80
    words = text.split()
    assert len(words) >= 10 and sum(w.isalpha() for w in words) >= 5  # word-like text, not noise


def test_one_decoding_step_exports_to_onnx_and_drives_the_same_loop(short_run, tmp_path):
    import onnx
    import torch

    from netspec.checkpoint import load_checkpoint
    from netspec.generate.decode import beam_search, greedy
    from netspec.generate.export_step import export_decoding_step, onnx_step
    from netspec.generate.step import NextTokenStep
    from netspec.generate.text import load_language_model

    _, out, overrides = short_run
    done = export_decoding_step(EXAMPLE, out / "last.pt", tmp_path / "step.onnx", overrides)
    report = done["report"]
    assert report.ok and len(report.runs) == 3 and report.worst().max_abs < 1e-4
    meta = {p.key: p.value for p in onnx.load(str(tmp_path / "step.onnx")).metadata_props}
    assert json.loads(meta["netspec.vocab"]) == ASCII_VOCAB and meta["netspec.context"] == "64"
    # the decoding loop stays in Python: the same greedy/beam search over onnxruntime or PyTorch
    model = load_language_model(check(EXAMPLE, overrides), load_checkpoint(out))
    torch_step, ort_step = NextTokenStep(model, context=64), onnx_step(tmp_path / "step.onnx", context=64)
    prompt = torch.tensor([[ASCII_VOCAB.index(c) for c in "Return the "]])
    with torch.no_grad():
        assert torch.equal(greedy(ort_step, prompt, 40), greedy(torch_step, prompt, 40))
        assert torch.equal(beam_search(ort_step, prompt, 12, 3), beam_search(torch_step, prompt, 12, 3))


@pytest.mark.slow
def test_example_reaches_its_stated_perplexity(tmp_path):
    proc = run_cli("train", str(EXAMPLE), "--json", "--quiet", "--out", str(tmp_path / "r"), timeout=1800)
    assert proc.returncode == 0, proc.stderr
    ppl = json.loads(proc.stdout.strip().splitlines()[-1])["metrics"]["val.perplexity"]
    arrays = build_session(check(EXAMPLE)).data.arrays
    baseline = unigram_perplexity(arrays["train"]["next"], arrays["val"]["next"])
    assert ppl <= 5.0 and ppl < baseline / 4
    gen = run_cli("generate", str(EXAMPLE), "--checkpoint", str(tmp_path / "r"), "--prompt", "Return the ")
    assert gen.returncode == 0 and len(gen.stdout) > 200
