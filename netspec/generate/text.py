"""Text generation with a trained language model: the library side of ``netspec generate``.

``generate_text(spec, checkpoint, prompt, **options)`` checks that the spec is a language model
(one int64 token input (L,), (L, V) logits), rebuilds it with the checkpoint's weights, encodes the
prompt with the checkpoint's vocabulary and the data source's tokenization (characters or words;
unknown tokens become ``<unk>``; or the run's own subword tokenizer, saved in the checkpoint),
decodes with the spec's ``train.program.generate`` settings overridden by ``options``, and returns
the prompt and its continuation. The model reads at most ``context`` tokens per step
(``program.context``, else the data's ``seq_len``, else the longest learned position table), so
generation may run past the length the model was trained on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Optional

import torch

from ..check import Checked, check
from ..distribution import install_hint
from ..errors import DataError, NetspecError, SpecError, TrainError
from ..programs.decoding import Decoding
from .decode import decode
from .step import NextTokenStep

DEFAULT_MAX_TOKENS = 200


def language_model_io(checked: Checked) -> tuple[str, str]:
    """(token input name, logits output name) of a language-model spec; a located SpecError otherwise."""
    spec = checked.spec
    train = spec.train
    program = train.program.type if train is not None else None
    if train is None or (program != "language_model" and train.task.type != "language_model"):
        raise SpecError("this spec is not a language model", path=("train", "program") if train is not None else (),
                        hint="generate needs a model trained with train.program: language_model")
    if len(checked.graphs) != 1:
        raise SpecError("a language model is one model; this spec has several", path=("models",), at_key=True)
    graph = checked.graph
    types = list(graph.inputs.values())
    if len(types) != 1 or types[0].dtype != "int64" or len(types[0].shape) != 1:
        raise SpecError("a language model reads one int64 token sequence (L,)", path=("inputs",),
                        hint="e.g. inputs: {tokens: {shape: [seq], dtype: int64}}")
    name = next(iter(graph.inputs))
    out_name, out = next(iter(graph.output_types().items()))
    if len(out.shape) != 2:
        raise SpecError(f"output {out_name!r} must be (L, V) next-token logits", path=("model", "outputs"))
    return name, out_name


def context_length(checked: Checked) -> Optional[int]:
    program = checked.spec.train.program
    if getattr(program, "context", None):
        return program.context
    source = checked.spec.data.source if checked.spec.data is not None else None
    if getattr(source, "seq_len", None):
        return source.seq_len
    limits = [n.layer.max_len for n in checked.graph.nodes if n.layer.tag == "positional_encoding"]
    return min(limits) if limits else None


def decoding_options(checked: Checked, options: dict[str, Any]) -> Decoding:
    """The spec's generation defaults with the given (non-None) options on top, validated."""
    from pydantic import ValidationError

    base = getattr(checked.spec.train.program, "generate", None) or Decoding()
    given = {k: v for k, v in options.items() if v is not None}
    try:
        return Decoding.model_validate({**base.model_dump(exclude_unset=True), **given})
    except ValidationError as exc:
        err = exc.errors()[0]
        key = str(err["loc"][0]) if err["loc"] else "options"
        raise SpecError(f"{key}: {err['msg']}", path=(f"--{key.replace('_', '-')}",)) from None


class Tokenizer:
    """The data source's tokenization with the checkpoint's vocabulary."""

    def __init__(self, vocab: list[str], how: str, lowercase: bool) -> None:
        self.vocab, self.how, self.lowercase = list(vocab), how, lowercase
        self.index = {t: i for i, t in enumerate(self.vocab)}
        self.unk = self.index.get("<unk>")
        self.unknown: list[str] = []  # the tokens of the last encode that the vocabulary lacks (read as <unk>)

    def encode(self, text: str) -> list[int]:
        from ..data.readers import tokenize

        ids, self.unknown = [], []
        for tok in tokenize(text, self.how, self.lowercase):
            if tok not in self.index:
                self.unknown.append(tok)
            i = self.index.get(tok, self.unk)
            if i is None:
                raise DataError(f"the prompt has the token {tok!r}, which is not in the vocabulary", path=("--prompt",))
            ids.append(i)
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        toks = [self.vocab[i] if 0 <= i < len(self.vocab) else "<unk>" for i in ids]
        return "".join(toks) if self.how == "char" else " ".join(toks)


class SubwordTokenizer:
    """The run's own Hugging Face tokenizer (bpe, wordpiece or a tokenizer.json), saved in the checkpoint."""

    def __init__(self, text: str) -> None:
        from ..data.subword import from_json, hub

        try:
            hub()
        except ImportError:
            raise DataError("the checkpoint's subword tokenizer needs the 'tokenizers' package, which is not installed",
                            path=("data", "source", "tokenize"), hint=install_hint("text")) from None
        self.json, self.hub = text, from_json(text)
        self.vocab, self.how = self.hub.vocab, self.hub.kind
        self.unknown: list[str] = []

    def encode(self, text: str) -> list[int]:
        return [int(i) for i in self.hub.encode(text)]

    def decode(self, ids: Iterable[int]) -> str:
        return str(self.hub.tokenizer.decode(list(ids), skip_special_tokens=False))

    def continuation(self, prompt_ids: list[int], new: list[int]) -> str:
        """The text the new ids add after the prompt's (decoded together, so word joins come out right)."""
        head, full = self.decode(prompt_ids), self.decode(list(prompt_ids) + list(new))
        return full[len(head):] if full.startswith(head) else " " + self.decode(new)


def tokenizer_for(checked: Checked, ckpt: dict) -> Tokenizer | SubwordTokenizer:
    saved = (ckpt.get("preprocess") or {}).get("tokenizer")
    if saved:
        return SubwordTokenizer(saved)
    vocab = (ckpt.get("preprocess") or {}).get("vocab")
    if not vocab:
        raise TrainError("the checkpoint has no vocabulary (its data source has no text)",
                         hint="train on a text or stdlib_text source to generate text")
    source = checked.spec.data.source if checked.spec.data is not None else None
    return Tokenizer(vocab, getattr(source, "tokenize", "whitespace") or "char", getattr(source, "lowercase", False))


def load_language_model(checked: Checked, ckpt: dict, device: str = "cpu") -> torch.nn.Module:
    from ..checkpoint import check_same_models, load_weights
    from ..compiler import compile_model

    model = compile_model(checked.graph)
    check_same_models(checked, ckpt, ["model"])
    load_weights(model, ckpt, "model")
    return model.to(device).eval()


def generate_text(spec_path: str | Path, checkpoint: str | Path, prompt: str, overrides: Iterable[str] = (),
                  device: str = "cpu", **options: Any) -> dict[str, Any]:
    """Continue ``prompt``; returns {prompt, completion, text, tokens, strategy}."""
    from ..checkpoint import load_checkpoint
    from ..train.session import located

    checked = check(spec_path, list(overrides))
    try:
        language_model_io(checked)
        opts = decoding_options(checked, options)
        ckpt = load_checkpoint(checkpoint)
        tok = tokenizer_for(checked, ckpt)
        ids = tok.encode(prompt)
        if not ids:
            raise DataError("the prompt has no tokens", path=("--prompt",), hint="give at least one character or word")
        model = load_language_model(checked, ckpt, device)
        step = NextTokenStep(model, context=context_length(checked))
        prefix = torch.tensor([ids], dtype=torch.long, device=device)
        gen = torch.Generator(device=device).manual_seed(opts.seed)
        with torch.no_grad():
            new = decode(step, prefix, opts, opts.max_tokens or DEFAULT_MAX_TOKENS, generator=gen)[0].tolist()
    except NetspecError as exc:
        raise located(exc, checked) from None
    if isinstance(tok, SubwordTokenizer):
        completion, joiner = tok.continuation(ids, new), ""
    else:
        completion = tok.decode(new)
        joiner = "" if tok.how == "char" or not completion else " "
    from ..checkpoint import describe

    return {"prompt": prompt, "completion": completion, "text": prompt + joiner + completion, "tokens": new,
            "strategy": opts.strategy, "checkpoint": describe(ckpt), "unknown_tokens": list(dict.fromkeys(tok.unknown))}
