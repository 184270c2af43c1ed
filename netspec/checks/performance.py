"""Rules for the fast-path settings (``train.performance``, precision) on a spec and its graphs,
run by ``netspec validate``: plain Python, no torch. The settings' schema is ``netspec.spec.performance``;
``has_conv2d`` and ``vocab_heads`` are the graph facts the trainer's fast path reads too."""

from __future__ import annotations

from typing import Any

from ..errors import SpecError
from ..optimizers import OPTIMIZERS, default_optimizer, fused_tags
from ..programs import PROGRAMS
from ..spec.performance import PerformanceSpec


def check_performance(spec: Any, graphs: dict, errors: list, warnings: list) -> None:
    """Rules for the fast-path settings (``netspec validate``); the device is not known here, so
    only settings that cannot work anywhere are errors."""
    train = spec.train
    if train is None:
        return
    perf: PerformanceSpec = train.performance
    if train.precision == "fp16-mixed" and train.device == "cpu":
        errors.append(SpecError("fp16-mixed needs a CUDA device, but train.device is cpu", path=("train", "precision"),
                                hint="use precision: auto (fp32 on CPU) or bf16-mixed"))
    if perf.optimizer_impl == "fused":
        for path, opt in _optimizers(train):
            if not OPTIMIZERS.of(opt).fused:
                errors.append(SpecError(f"torch.optim has no fused {opt.type}", path=("train", "performance", "optimizer_impl"),
                                        hint=f"fused exists for {', '.join(fused_tags())}; use auto or foreach",
                                        notes=[(path, f"the {opt.type} optimizer")] if path else []))
    if perf.channels_last is True and not any(has_conv2d(g) for g in graphs.values()):
        warnings.append(_warn("channels_last has no effect: no model has 2-d convolutions", ("train", "performance", "channels_last"),
                              "it speeds up conv2d layers; drop the setting"))
    if perf.pad_vocab not in ("auto", False) and not any(vocab_heads(g, train.program.type) for g in graphs.values()):
        warnings.append(_warn("pad_vocab finds no language-model head to pad", ("train", "performance", "pad_vocab"),
                              "it pads a linear tied to an embedding, or the logits of a language_model/seq2seq program"))


def _optimizers(train: Any) -> list:
    """(spec path, optimizer) of each optimizer the spec states, or ((), the default) when it states none."""
    if train.optimizers:
        return [(("train", "optimizers", k), o) for k, o in train.optimizers.items()]
    if train.optimizer is not None:
        return [(("train", "optimizer"), train.optimizer)]
    return [((), default_optimizer())]


def has_conv2d(graph: Any) -> bool:
    return any(n.layer.tag in ("conv2d", "conv_transpose2d") for n in graph.nodes)


def vocab_heads(graph: Any, program: str) -> list[str]:
    """Names of the linear nodes ``pad_vocab`` pads: tied to an embedding (an LM head), or producing
    a model output of a language_model/seq2seq program."""
    outputs = {v[1] for _, v in graph.outputs if v[0] != "input"}
    vocab = PROGRAMS.get(program).vocab_logits  # the program's logits run over a vocabulary
    heads = []
    for node in graph.nodes:
        if node.layer.tag != "linear" or node.share:
            continue
        tied = any(graph.node(t).layer.tag == "embedding" for t in node.tie.values())
        if tied or (vocab and node.name in outputs):
            heads.append(node.name)
    return heads


def _warn(message: str, path: tuple, hint: str) -> SpecError:
    err = SpecError(message, path=path, hint=hint)
    err.kind = "warning"
    return err
