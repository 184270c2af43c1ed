"""Rules of the ``language_model``, ``seq2seq`` and ``segmentation`` programs, checked without
torch by ``netspec validate`` and by the trainer (through ``plan_training``).

Each problem is a located SpecError: a language model reads one int64 token sequence and returns
(L, V) logits; a seq2seq model has the named decoder input, (T, V) logits over the decoder's steps
and special token ids inside the vocabulary; a segmentation model returns (C, H, W) logits with
C ≥ 2 at its image's size, and geometric augmentations (which would move an image but not its
mask) are refused. Decoding options that the chosen strategy ignores are warnings.
"""

from __future__ import annotations

from typing import Any

from ..errors import SpecError, SpecPath

SAMPLING_ONLY = ("temperature", "top_k", "top_p")


def check_prediction_program(spec: Any, train: Any, graph: Any, plan: Any, errors: list, warnings: list) -> None:
    program = train.program
    if "task" in train.model_fields_set and train.task.type != plan.mode:
        errors.append(SpecError(f"the {program.type} program trains its own task; task {train.task.type!r} does not apply",
                                path=("train", "task"), hint="drop train.task"))
    if not plan.losses or not plan.losses[0].outputs or plan.losses[0].outputs[0] not in graph.output_types():
        return  # the loss binding is reported already
    out_name = plan.losses[0].outputs[0]
    out = graph.output_types()[out_name]
    if program.type == "language_model":
        _language_model(graph, out_name, out, program, errors, warnings)
    elif program.type == "seq2seq":
        _seq2seq(train, graph, out_name, out, program, errors, warnings)
    else:
        _segmentation(spec, graph, out_name, out, errors)
        for i, loss in enumerate(train.loss or []):
            if getattr(loss, "ignore_index", -100) >= 0:
                errors.append(SpecError("the segmentation metrics count every pixel: masks cannot carry an ignored label",
                                        path=("train", "loss", i, "ignore_index"), hint="drop ignore_index"))


def _output_path(graph: Any, name: str) -> SpecPath:
    value = dict(graph.outputs)[name]
    return graph.node(value[1]).path if value[0] == "node" else graph.path


def _fmt(shape: tuple) -> str:
    return "(" + ", ".join(str(d) for d in shape) + (",)" if len(shape) == 1 else ")")


def _logits_2d(graph: Any, name: str, out: Any, what: str, errors: list) -> bool:
    if len(out.shape) == 2 and isinstance(out.shape[-1], int):
        return True
    errors.append(SpecError(f"output {name!r} is {_fmt(out.shape)}, but {what} returns (L, V) token logits",
                            path=_output_path(graph, name), hint="end the model in a linear layer to vocabulary size, applied per step"))
    return False


def _token_input(graph: Any, name: str, path: SpecPath, role: str, errors: list) -> bool:
    t = graph.inputs[name]
    if t.dtype == "int64" and len(t.shape) == 1:
        return True
    errors.append(SpecError(f"{role} {name!r} must be int64 token ids of shape (L,), got {t.dtype} {_fmt(t.shape)}",
                            path=path, hint="e.g. {shape: [seq], dtype: int64}"))
    return False


def _language_model(graph: Any, out_name: str, out: Any, program: Any, errors: list, warnings: list) -> None:
    names = list(graph.inputs)
    if len(names) != 1:
        errors.append(SpecError(f"a language model reads one token sequence; this model has {len(names)} inputs ({', '.join(names)})",
                                path=graph.path, hint="generation feeds the tokens so far as the only input"))
    elif _token_input(graph, names[0], ("inputs", names[0]), "the language model's input", errors):
        length = graph.inputs[names[0]].shape[0]
        if isinstance(length, int):
            errors.append(SpecError(f"the token input {names[0]!r} has a fixed length {length}; generation feeds prompts of "
                                    "any length", path=("inputs", names[0], "shape"), hint="use a symbolic length: shape: [seq]"))
    if _logits_2d(graph, out_name, out, "a language model", errors):
        _decoding(program.generate, out.shape[-1], ("train", "program", "generate"), errors, warnings)


def _seq2seq(train: Any, graph: Any, out_name: str, out: Any, program: Any, errors: list, warnings: list) -> None:
    base: SpecPath = ("train", "program")
    name = program.decoder_input
    if name not in graph.inputs:
        errors.append(SpecError(f"decoder_input {name!r} is not a model input", path=base + ("decoder_input",),
                                hint=f"model inputs: {', '.join(graph.inputs)}"))
        return
    if not _token_input(graph, name, base + ("decoder_input",), "decoder input", errors):
        return
    if not _logits_2d(graph, out_name, out, "a seq2seq model", errors):
        return
    steps, vocab = graph.inputs[name].shape[0], out.shape[-1]
    if out.shape[0] != steps:
        errors.append(SpecError(f"output {out_name!r} has {out.shape[0]} steps, the decoder input {name!r} {steps}",
                                path=_output_path(graph, out_name), hint="the decoder returns one logit row per input step"))
    tokens = program.special_tokens
    for key in ("pad", "sos", "eos"):
        if getattr(tokens, key) >= vocab:
            errors.append(SpecError(f"special token {key} = {getattr(tokens, key)} is outside the vocabulary of {vocab} tokens",
                                    path=base + ("special_tokens", key), hint=f"ids are 0…{vocab - 1}"))
    if len({tokens.pad, tokens.sos, tokens.eos}) < 3:
        errors.append(SpecError("pad, sos and eos must be three different tokens", path=base + ("special_tokens",)))
    if program.decode.strategy == "sample":
        errors.append(SpecError("evaluation decodes with greedy or beam search, not sampling", path=base + ("decode", "strategy"),
                                hint="the exact-match rate of random draws is not a stable metric"))
    _decoding(program.decode, vocab, base + ("decode",), errors, warnings)
    for i, loss in enumerate(train.loss or []):
        ignore = getattr(loss, "ignore_index", None)
        if ignore is not None and ignore != tokens.pad:
            where = ("train", "loss", i) + (("ignore_index",) if "ignore_index" in loss.model_fields_set else ())
            warnings.append(_warn(f"the loss ignores token {ignore}, but padding is token {tokens.pad}: padded steps are "
                                  "learned as targets", where, f"set ignore_index: {tokens.pad}"))


def _segmentation(spec: Any, graph: Any, out_name: str, out: Any, errors: list) -> None:
    shape = out.shape
    if len(shape) != 3 or not isinstance(shape[0], int) or shape[0] < 2:
        errors.append(SpecError(f"output {out_name!r} is {_fmt(shape)}, but segmentation returns (C, H, W) logits for C ≥ 2 classes",
                                path=_output_path(graph, out_name),
                                hint="end in a 1×1 conv2d with out_channels = number of classes (background included)"))
        return
    for name, t in graph.inputs.items():
        if len(t.shape) == 3 and tuple(t.shape[1:]) != tuple(shape[1:]):
            errors.append(SpecError(f"output {out_name!r} is {_fmt(shape)}, but the masks have the size of input {name!r} "
                                    f"{_fmt(tuple(t.shape[1:]))}", path=_output_path(graph, out_name),
                                    hint="upsample the logits back to the input's height and width"))
    for i, aug in enumerate(spec.data.augment if spec.data is not None else []):
        if aug.geometric:  # the augmentation's own planning rule (netspec.augmentations)
            errors.append(SpecError(f"augmentation {aug.type!r} would move the image but not its mask",
                                    path=("data", "augment", i), hint="use photometric augmentations (color_jitter, noise)"))


def _decoding(d: Any, vocab: int, path: SpecPath, errors: list, warnings: list) -> None:
    if d.top_k is not None and d.top_k > vocab:
        errors.append(SpecError(f"top_k {d.top_k} is larger than the vocabulary ({vocab} tokens)", path=path + ("top_k",)))
    if d.strategy == "beam" and d.beam_size > vocab:
        errors.append(SpecError(f"beam_size {d.beam_size} is larger than the vocabulary ({vocab} tokens)", path=path + ("beam_size",)))
    for key in SAMPLING_ONLY:
        if key in d.model_fields_set and d.strategy != "sample":
            warnings.append(_warn(f"{key} applies to strategy sample, not {d.strategy}", path + (key,), "set strategy: sample"))
    for key in ("beam_size", "length_penalty"):
        if key in d.model_fields_set and d.strategy != "beam":
            warnings.append(_warn(f"{key} applies to strategy beam, not {d.strategy}", path + (key,), "set strategy: beam"))


def _warn(message: str, path: SpecPath, hint: str) -> SpecError:
    err = SpecError(message, path=path, hint=hint)
    err.kind = "warning"
    return err
