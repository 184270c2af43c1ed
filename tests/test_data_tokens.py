"""Token corpora, memory-mapped (netspec/data/tokens.py, netspec/data/subword.py): a file, folder or glob
tokenized once into a uint16/uint32 token file cached beside the data, windows sliced from it on
demand, subword tokenizers trained with Hugging Face `tokenizers`, and the tokenizer travelling with
the run (checkpoint, run directory, `netspec generate`, ONNX metadata). References are computed
here, independently: character ids by hand, subword ids by `tokenizers` itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from netspec.data import progress, tokens
from netspec.data.tokens import TokenWindows, token_dtype
from netspec.errors import DataError, NetspecError
from netspec.sources.text import Text

PATH = ("data", "source")
WORDS = "the cat dog sat ran on under a mat log big small red quick brown fox jumps over lazy river tree".split()


def corpus_text(n: int = 400, seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    return "".join(" ".join(rng.choice(WORDS, size=rng.integers(4, 9))) + ".\n" for _ in range(n))


def source(**kw) -> Text:
    return Text(type="text", **{"path": "corpus.txt", "seq_len": 16, **kw})


def read(src: Text, base: Path, lines: list | None = None):
    with progress.reporting(lines.append if lines is not None else None):
        return src.read(base, False, PATH)


def char_ids(text: str) -> np.ndarray:  # the reference: <pad>, <unk>, then the characters in sorted order
    vocab = ["<pad>", "<unk>"] + sorted(set(text))
    return np.array([vocab.index(c) for c in text])


@pytest.fixture
def corpus(tmp_path):
    (tmp_path / "corpus.txt").write_text(corpus_text(), encoding="utf-8")
    return tmp_path


# ---- the token file ---------------------------------------------------------------------------------

def test_token_dtype_is_uint16_while_ids_fit():
    assert token_dtype(258) == np.uint16 and token_dtype(65535) == np.uint16
    assert token_dtype(65536) == np.uint32 and token_dtype(200_000) == np.uint32


def test_char_corpus_is_a_uint16_file_of_the_reference_ids(corpus):
    table = read(source(), corpus)
    x = table.fields["tokens"]
    assert isinstance(x, TokenWindows) and x.corpus.dtype == np.uint16
    want = char_ids((corpus / "corpus.txt").read_text())
    assert x.corpus.file.parent == corpus / ".netspec-cache"
    assert x.corpus.file.stat().st_size == 2 * len(want)  # two bytes per token, nothing else
    np.testing.assert_array_equal(np.fromfile(x.corpus.file, np.uint16), want)
    assert table.vocab == ["<pad>", "<unk>"] + sorted(set((corpus / "corpus.txt").read_text()))
    assert x.max_id == want.max() and table.tokenizer is None


def test_a_vocabulary_over_65535_tokens_is_stored_as_uint32(tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {"<pad>": 0, "<unk>": 1, **{f"w{i}": i + 2 for i in range(70_000)}}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.save(str(tmp_path / "tokenizer.json"))
    words = [f"w{i}" for i in (0, 5, 65_600, 69_999, 12) * 10]
    (tmp_path / "corpus.txt").write_text(" ".join(words))
    x = read(source(tokenizer="tokenizer.json", seq_len=8), tmp_path).fields["tokens"]
    assert x.corpus.dtype == np.uint32 and x.max_id == 69_999 + 2
    np.testing.assert_array_equal(np.fromfile(x.corpus.file, np.uint32), [int(w[1:]) + 2 for w in words])


def test_a_second_read_reuses_the_token_file(corpus, monkeypatch):
    lines: list[str] = []
    first = read(source(), corpus, lines).fields["tokens"].corpus
    assert any(line.startswith("tokenizing corpus.txt") for line in lines)
    stamp = first.file.stat().st_mtime_ns

    def no_build(*args, **kwargs):
        raise AssertionError("the token file was built again")

    monkeypatch.setattr(tokens, "build_token_file", no_build)
    lines.clear()
    again = read(source(seq_len=8, stride=3), corpus, lines).fields["tokens"].corpus  # windows are not part of the key
    assert again.file == first.file and again.file.stat().st_mtime_ns == stamp and lines == []


def test_a_changed_corpus_or_tokenizer_builds_a_new_file(corpus):
    first = read(source(), corpus).fields["tokens"].corpus
    (corpus / "corpus.txt").write_text(corpus_text(seed=1), encoding="utf-8")
    changed = read(source(), corpus).fields["tokens"].corpus
    assert changed.file != first.file
    np.testing.assert_array_equal(np.asarray(changed.ids), char_ids(corpus_text(seed=1)))
    words = read(source(tokenize="whitespace"), corpus).fields["tokens"].corpus
    assert words.file not in (first.file, changed.file) and words.count == len(corpus_text(seed=1).split())


def test_building_says_how_far_it_is(corpus, monkeypatch):
    monkeypatch.setattr(tokens, "CHUNK_BYTES", 512)
    monkeypatch.setattr(progress, "task", lambda label, total=None, unit="items":
                        progress.Task(label, total, unit, progress._LISTENER.get(), every=0.0))
    lines: list[str] = []
    read(source(), corpus, lines)
    size = (corpus / "corpus.txt").stat().st_size
    running = [line for line in lines if line.startswith("tokenizing") and "ETA" in line]
    assert running and all("bytes (" in line and "/s" in line for line in running)
    assert lines[-1].startswith("tokenizing corpus.txt into tokens-") and f"{size:,} bytes in" in lines[-1]
    assert f"{len(char_ids(corpus_text())):,} tokens" in lines[-1]


# ---- windows ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("stride", [None, 5])
def test_windows_are_slices_of_the_token_array(corpus, stride):
    table = read(source(stride=stride), corpus)
    ids, n, step = char_ids((corpus / "corpus.txt").read_text()), 16, stride or 16
    starts = range(0, len(ids) - n - 1 + 1, step)
    x, y = table.fields["tokens"], table.fields["next"]
    assert len(x) == len(y) == len(starts) and x.shape == (len(starts), n) and x.dtype == np.int64
    pick = np.random.default_rng(0).permutation(len(starts))[:50]
    np.testing.assert_array_equal(x[pick], np.stack([ids[starts[i]: starts[i] + n] for i in pick]))
    np.testing.assert_array_equal(y[pick], np.stack([ids[starts[i] + 1: starts[i] + n + 1] for i in pick]))
    np.testing.assert_array_equal(x[len(starts) - 1], ids[starts[-1]: starts[-1] + n])


def test_a_split_is_a_view_that_keeps_the_largest_id(corpus):
    x = read(source(), corpus).fields["tokens"]
    part = x.select(np.array([3, 1]))
    assert part.cheap and part.max_id == x.max_id
    np.testing.assert_array_equal(part[np.arange(2)], x[np.array([3, 1])])


def test_streamed_batches_are_gathered_without_workers_and_cover_the_split(corpus):
    import torch

    from netspec.data.batches import StreamBatches

    x = read(source(), corpus).fields
    loader = StreamBatches(dict(x), torch.device("cpu"), 32, mode="shuffle", num_workers=2)
    assert loader.cheap  # slices of a memory map: read in the main process
    seen = []
    for _ in range(2):
        epoch = list(loader.epoch(torch.Generator().manual_seed(5)))
        seen.append(torch.cat([b["tokens"] for b in epoch]))
        for b in epoch:
            np.testing.assert_array_equal(b["next"][:, :-1].numpy(), b["tokens"][:, 1:].numpy())
    assert torch.equal(seen[0], seen[1])  # the order is the generator's: the same seed, the same batches
    rows = {tuple(r) for r in seen[0].tolist()}
    assert rows == {tuple(r) for r in np.asarray(x["tokens"]).tolist()}


def test_folder_and_glob_concatenate_files_in_sorted_order(tmp_path):
    (tmp_path / "books" / "b").mkdir(parents=True)
    texts = {"books/a.txt": corpus_text(50, 1), "books/b/c.txt": corpus_text(50, 2), "books/z.md": corpus_text(50, 3)}
    for name, text in texts.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "books" / ".hidden").write_text("\x00 not text")
    vocab = ["<pad>", "<unk>"] + sorted(set("".join(texts.values())))
    every = read(source(path="books"), tmp_path).fields["tokens"].corpus
    assert every.file.parent == tmp_path / "books" / ".netspec-cache"
    want = [vocab.index(c) for c in texts["books/a.txt"] + texts["books/b/c.txt"] + texts["books/z.md"]]
    np.testing.assert_array_equal(np.asarray(every.ids), want)
    again = read(source(path="books"), tmp_path).fields["tokens"].corpus  # the cache folder is not read as corpus
    assert again.file == every.file
    txt = read(source(path="books/**/*.txt"), tmp_path).fields["tokens"].corpus
    assert txt.count == len(texts["books/a.txt"]) + len(texts["books/b/c.txt"])


# ---- located errors -----------------------------------------------------------------------------------

def test_paths_matching_nothing_are_located_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    for name, message in [("nope.txt", "file or folder not found"), ("books/*.txt", "no files match"),
                          ("empty", "holds no files")]:
        with pytest.raises(DataError) as err:
            read(source(path=name), tmp_path)
        assert err.value.path == PATH + ("path",) and message in str(err.value) and err.value.hint


def test_a_file_that_is_not_utf8_is_named_with_its_line(tmp_path):
    (tmp_path / "books").mkdir()
    (tmp_path / "books" / "a.txt").write_text(corpus_text(20))
    (tmp_path / "books" / "b.txt").write_bytes(b"fine\nalso fine\n\xff\xfe broken\n")
    with pytest.raises(DataError) as err:
        read(source(path="books"), tmp_path)
    assert err.value.path == PATH + ("path",) and f"{tmp_path / 'books' / 'b.txt'}, line 3: not UTF-8 text" in str(err.value)


def test_tokenizer_files_missing_or_unreadable(corpus):
    with pytest.raises(DataError) as err:
        read(source(tokenizer="tok.json"), corpus)
    assert err.value.path == PATH + ("tokenizer",) and "tokenizer file not found" in str(err.value)
    (corpus / "tok.json").write_text('{"model": "not a tokenizer"}')
    with pytest.raises(DataError) as err:
        read(source(tokenizer="tok.json"), corpus)
    assert err.value.path == PATH + ("tokenizer",) and "not a tokenizer file" in str(err.value)


def test_schema_rejects_contradictory_tokenizer_keys():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="tokenizer file decides"):
        source(tokenizer="t.json", tokenize="bpe")
    with pytest.raises(ValidationError, match="apply to tokenize: bpe or wordpiece"):
        source(vocab_size=100)
    with pytest.raises(ValidationError):
        source(tokenize="sentencepiece")


def test_too_short_a_corpus_is_located_at_seq_len(tmp_path):
    (tmp_path / "corpus.txt").write_text("tiny")
    with pytest.raises(DataError) as err:
        read(source(), tmp_path)
    assert err.value.path == PATH + ("seq_len",) and "4 tokens, fewer than seq_len + 1 = 17" in str(err.value)


# ---- subwords, trained here -------------------------------------------------------------------------

def test_bpe_and_wordpiece_are_trained_on_the_corpus(corpus):
    from tokenizers import Tokenizer

    text = (corpus / "corpus.txt").read_text()
    for kind in ("bpe", "wordpiece"):
        table = read(source(tokenize=kind, vocab_size=300), corpus)
        x = table.fields["tokens"]
        tok = Tokenizer.from_str(table.tokenizer)
        assert json.loads(table.tokenizer)["model"]["type"] == ("BPE" if kind == "bpe" else "WordPiece")
        assert table.vocab[:2] == ["<pad>", "<unk>"] and len(table.vocab) == tok.get_vocab_size() <= 300
        np.testing.assert_array_equal(np.asarray(x.corpus.ids), tok.encode(text, add_special_tokens=False).ids)
        assert x.corpus.count < len(text) / 2  # subwords: far fewer tokens than characters
    assert tok.decode(tok.encode("the quick fox").ids) == "the quick fox"  # wordpiece joins its pieces back


def test_without_tokenizers_installed_bpe_is_a_located_error_with_an_install_hint(corpus, monkeypatch):
    monkeypatch.setitem(sys.modules, "tokenizers", None)
    with pytest.raises(DataError) as err:
        read(source(tokenize="bpe"), corpus)
    assert err.value.path == PATH + ("tokenize",) and "needs the 'tokenizers' package" in str(err.value)
    assert err.value.hint == "pip install tokenizers (or, in a netspec checkout, pip install '.[text]')"


LM = """netspec: 1
name: bpe-lm
inputs:
  tokens: {shape: [seq], dtype: int64}
model:
  layers:
    - {name: embed, embedding: {num_embeddings: 300, embedding_dim: 24}}
    - {name: rnn, gru: {hidden_size: 32, returns: sequence}}
    - {name: logits, linear: {out_features: 300}}
data:
  source: {type: text, path: corpus.txt, tokenize: bpe, vocab_size: 300, seq_len: 16}
  split: {val: 0.1, seed: 0}
  loader: {on_device: false}
train:
  program: {type: language_model}
  epochs: 2
  batch_size: 32
  optimizer: {type: adam, lr: 0.01}
"""

PLAIN_STEP = """
import json, sys
import numpy as np, onnxruntime as ort
from tokenizers import Tokenizer
session = ort.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
tok = Tokenizer.from_str(session.get_modelmeta().custom_metadata_map["netspec.tokenizer"])
ids = tok.encode(sys.argv[2], add_special_tokens=False).ids
(logits,) = session.run(None, {session.get_inputs()[0].name: np.asarray([ids], np.int64)})
new = int(logits[0, -1].argmax())
print(json.dumps({"id": new, "text": tok.decode(ids + [new]), "netspec": any(m.startswith("netspec") for m in sys.modules)}))
"""


@pytest.fixture(scope="module")
def bpe_run(tmp_path_factory):
    from netspec.train.api import train_spec

    root = tmp_path_factory.mktemp("bpe")
    (root / "corpus.txt").write_text(corpus_text(600), encoding="utf-8")
    (root / "lm.yaml").write_text(LM)
    train_spec(root / "lm.yaml", out=root / "run")
    return root


def test_the_tokenizer_is_saved_with_the_run(bpe_run):
    from tokenizers import Tokenizer

    from netspec.checkpoint import load_checkpoint

    saved = (bpe_run / "run" / "tokenizer.json").read_text()
    assert load_checkpoint(bpe_run / "run" / "last.pt")["preprocess"]["tokenizer"] == saved
    text = (bpe_run / "corpus.txt").read_text()
    cached = next((bpe_run / ".netspec-cache").glob("tokens-*.bin"))
    np.testing.assert_array_equal(np.fromfile(cached, np.uint16), Tokenizer.from_file(str(bpe_run / "run" / "tokenizer.json"))
                                  .encode(text, add_special_tokens=False).ids)


def test_generate_encodes_and_decodes_with_the_runs_tokenizer(bpe_run):
    import torch
    from tokenizers import Tokenizer

    from netspec.check import check
    from netspec.checkpoint import load_checkpoint
    from netspec.generate.text import generate_text, load_language_model

    tok = Tokenizer.from_file(str(bpe_run / "run" / "tokenizer.json"))
    out = generate_text(bpe_run / "lm.yaml", bpe_run / "run", "the quick brown", strategy="greedy", max_tokens=6)
    prompt = tok.encode("the quick brown", add_special_tokens=False).ids
    assert len(out["tokens"]) == 6 and out["text"] == tok.decode(prompt + out["tokens"])
    assert out["text"] == "the quick brown" + out["completion"]
    model = load_language_model(check(bpe_run / "lm.yaml"), load_checkpoint(bpe_run / "run" / "last.pt"))
    seq = list(prompt)
    with torch.no_grad():  # the reference greedy loop, by hand
        for _ in range(6):
            seq.append(int(model(torch.tensor([seq]))[0, -1].argmax()))
    assert out["tokens"] == seq[len(prompt):]
    words = out["completion"].split()
    assert words and sum(w.strip(".") in WORDS for w in words) >= len(words) - 1  # it learned the corpus's words


def test_onnx_carries_the_tokenizer_and_a_plain_script_reproduces_a_greedy_step(bpe_run):
    from netspec.export.api import export_spec
    from netspec.generate.text import generate_text

    (done,) = export_spec(bpe_run / "lm.yaml", checkpoint=bpe_run / "run" / "last.pt", out=bpe_run / "lm.onnx")
    import onnx

    meta = {p.key: p.value for p in onnx.load(str(done.path)).metadata_props}
    assert meta["netspec.tokenizer"] == (bpe_run / "run" / "tokenizer.json").read_text()
    script = bpe_run / "step.py"
    script.write_text(PLAIN_STEP)
    prompt = "the lazy dog"
    proc = subprocess.run([sys.executable, str(script), str(done.path), prompt], capture_output=True, text=True, timeout=120,
                          cwd=bpe_run, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert proc.returncode == 0, proc.stderr
    plain = json.loads(proc.stdout)
    ours = generate_text(bpe_run / "lm.yaml", bpe_run / "run", prompt, strategy="greedy", max_tokens=1)
    assert not plain["netspec"] and plain["id"] == ours["tokens"][0] and plain["text"] == ours["text"]


def test_a_data_error_through_train_is_located_in_the_spec(tmp_path):
    from netspec.diagnostics import diagnose
    from netspec.train.api import train_spec

    spec = tmp_path / "lm.yaml"
    spec.write_text(LM.replace("path: corpus.txt", "path: books/*.txt"))
    with pytest.raises(NetspecError) as err:
        train_spec(spec, out=tmp_path / "run")
    line = next(i for i, t in enumerate(LM.splitlines(), 1) if "type: text" in t)
    col = spec.read_text().splitlines()[line - 1].index("books/*.txt") + 1
    (diag,) = diagnose(err.value, err.value.source, str(spec))
    assert (diag.line, diag.col, diag.path) == (line, col, "data.source.path") and "no files match" in diag.message
    assert diag.hint == "paths and globs are relative to the spec file"


def test_resuming_a_streamed_token_run_is_exact(tmp_path):
    import torch

    from netspec.checkpoint import load_checkpoint
    from netspec.train.api import train_spec

    (tmp_path / "corpus.txt").write_text(corpus_text(80), encoding="utf-8")
    spec = tmp_path / "lm.yaml"
    spec.write_text(LM.replace("tokenize: bpe, vocab_size: 300", "tokenize: char").replace("epochs: 2", "epochs: 1"))
    train_spec(spec, out=tmp_path / "whole", epochs=2)
    train_spec(spec, out=tmp_path / "parts")
    train_spec(spec, resume=tmp_path / "parts", epochs=2)
    a, b = (load_checkpoint(tmp_path / run / "last.pt") for run in ("whole", "parts"))
    assert a["epoch"] == b["epoch"] == 2
    for key, value in a["models"]["model"].items():
        assert torch.equal(value, b["models"]["model"][key]), key


def test_netspec_generate_prints_the_decoded_continuation(bpe_run):
    from typer.testing import CliRunner

    from netspec.cli.app import app
    from netspec.generate.text import generate_text

    res = CliRunner().invoke(app, ["generate", str(bpe_run / "lm.yaml"), "--checkpoint", str(bpe_run / "run"),
                                   "--prompt", "the red fox", "--strategy", "greedy", "--max-tokens", "5"])
    assert res.exit_code == 0, res.output
    want = generate_text(bpe_run / "lm.yaml", bpe_run / "run", "the red fox", strategy="greedy", max_tokens=5)
    assert res.stdout.rstrip("\n") == want["text"] and "Ġ" not in res.stdout  # decoded text, not byte-level pieces


def test_a_file_that_cannot_be_opened_is_named(corpus, monkeypatch):
    def refuse(file, mode="r", *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(file))

    monkeypatch.setattr(tokens, "open", refuse, raising=False)  # as root, chmod 000 would not stop the read
    with pytest.raises(DataError) as err:
        read(source(), corpus)
    assert err.value.path == PATH + ("path",) and str(err.value).endswith(f"cannot read {corpus / 'corpus.txt'}: Permission denied")


def test_a_vocabulary_larger_than_the_embedding_is_located_at_the_layer(tmp_path):
    from netspec.diagnostics import diagnose
    from netspec.train.api import train_spec

    (tmp_path / "corpus.txt").write_text(corpus_text(40), encoding="utf-8")
    spec = tmp_path / "lm.yaml"
    spec.write_text(LM.replace("tokenize: bpe, vocab_size: 300", "tokenize: char").replace("num_embeddings: 300", "num_embeddings: 10"))
    with pytest.raises(DataError) as err:
        train_spec(spec, out=tmp_path / "run")
    top = int(char_ids(corpus_text(40)).max())
    (diag,) = diagnose(err.value, err.value.source, str(spec))
    assert f"token id {top} in field 'tokens' is out of range for num_embeddings 10" in diag.message
    assert diag.line == next(i for i, t in enumerate(spec.read_text().splitlines(), 1) if "num_embeddings" in t)
    assert diag.hint == f"set num_embeddings to at least {top + 1} (the vocabulary size)"


@pytest.mark.parametrize("chunk", [1, 7, 64])
def test_pieces_are_cut_where_no_token_is_split(tmp_path, monkeypatch, chunk):
    from tokenizers import Tokenizer

    text = "née à 日本語 " + "long line without a break " * 30 + "\nnext\n\n" + corpus_text(20) + "déjà vu 🙂"
    (tmp_path / "corpus.txt").write_text(text, encoding="utf-8")
    bpe = read(source(tokenize="bpe", vocab_size=300), tmp_path)  # built from pieces of 1 MB: the whole text at once
    bpe_ids, bpe_json = np.array(bpe.fields["tokens"].corpus.ids), bpe.tokenizer
    monkeypatch.setattr(tokens, "CHUNK_BYTES", chunk)
    (tmp_path / ".netspec-cache").rename(tmp_path / "old-cache")  # build again, in small pieces
    pieces = list(tokens.read_chunks([tmp_path / "corpus.txt"], PATH))
    assert "".join(pieces) == text and len(pieces) > 3
    np.testing.assert_array_equal(np.asarray(read(source(), tmp_path).fields["tokens"].corpus.ids), char_ids(text))
    words = read(source(tokenize="whitespace"), tmp_path)
    assert [words.vocab[i] for i in words.fields["tokens"].corpus.ids] == text.split()
    tok = Tokenizer.from_str(bpe_json)
    np.testing.assert_array_equal(bpe_ids, tok.encode(text, add_special_tokens=False).ids)
    if chunk == 64:  # byte-level BPE of pieces cut before a space or after a newline: the same ids
        again = tokens.build_token_file(source(tokenize="bpe", vocab_size=300), [tmp_path / "corpus.txt"], tmp_path, PATH,
                                        tmp_path / "t.bin", tmp_path / "t.json")
        np.testing.assert_array_equal(np.asarray(again.ids), bpe_ids)


def test_the_exported_decoding_step_carries_the_tokenizer_too(bpe_run):
    import onnx

    from netspec.generate.export_step import export_decoding_step

    done = export_decoding_step(bpe_run / "lm.yaml", bpe_run / "run" / "last.pt", bpe_run / "step.onnx")
    meta = {p.key: p.value for p in onnx.load(done["path"]).metadata_props}
    assert meta["netspec.tokenizer"] == (bpe_run / "run" / "tokenizer.json").read_text() and meta["netspec.tokenize"] == "bpe"
    assert done["vocab_size"] == len(json.loads(meta["netspec.vocab"])) and done["report"].ok
