"""The ``train.performance:`` section: the GPU fast path, one switch per trick.

Every switch defaults to ``auto``: on where it pays (a CUDA device), off elsewhere, so a CPU run
computes what the plain path computes. ``train.precision``, ``train.compile`` and ``train.threads``
(in ``train:`` itself) complete the set. Plain pydantic, no torch::

    train:
      precision: auto          # bf16-mixed on CUDA (fp16-mixed + grad scaler without bf16), fp32 elsewhere
      compile: auto            # torch.compile on CUDA when a step is big enough to pay for compilation
      threads: auto            # CPU intra-op threads: 1 for small steps, the free cores for big ones
      performance:
        tf32: auto             # TF32 tensor cores for fp32 matmuls and convolutions (CUDA)
        optimizer_impl: auto   # fused kernels on CUDA (foreach where torch has no fused one)
        channels_last: auto    # NHWC memory format for models with 2-d convolutions (CUDA)
        attention: auto        # scaled_dot_product_attention backend; auto lets PyTorch choose
        pad_vocab: auto        # language-model heads padded to a multiple of 64 (CUDA); logits sliced back
        static_shapes: auto    # drop the last partial train batch and compile for fixed shapes (with compile)
        compile_mode: default  # torch.compile mode (reduce-overhead: CUDA graphs)

``check_performance`` holds the rules ``netspec validate`` checks. The runtime resolution of
``auto`` is ``netspec.train.fastpath``.
"""

from typing import Annotated, Any, Literal, Union

from pydantic import Field

from ..errors import SpecError
from ..optimizers import OPTIMIZERS, default_optimizer, fused_tags
from ..programs import PROGRAMS
from .base import StrictModel

Auto = Literal["auto"]
VocabMultiple = Annotated[int, Field(ge=2, le=1024)]


class PerformanceSpec(StrictModel):
    """GPU fast-path switches; ``auto`` turns each on where it pays and off on CPU."""
    tf32: Union[Auto, bool] = Field(
        "auto", description="TF32 tensor cores for fp32 matrix multiplications and convolutions (about 1e-3 relative "
                            "precision); auto: on for CUDA devices. Process-wide while the run lasts.")
    optimizer_impl: Literal["auto", "fused", "foreach", "for_loop"] = Field(
        "auto", description=f"torch.optim implementation: fused (one kernel for all parameters; {', '.join(fused_tags())}), "
                            "foreach (batched per-tensor kernels) or for_loop; auto: fused on CUDA where torch has it, "
                            "foreach for the others on CUDA, torch's default on other devices.")
    channels_last: Union[Auto, bool] = Field(
        "auto", description="Keep 4-d weights and image batches in NHWC memory order (faster convolutions on tensor "
                            "cores); auto: on for CUDA when the model has 2-d convolutions.")
    attention: Literal["auto", "flash", "efficient", "cudnn", "math"] = Field(
        "auto", description="Preferred scaled_dot_product_attention kernel on CUDA (falls back to the others when it "
                            "cannot run a call); auto: PyTorch's own choice. Ignored on other devices.")
    pad_vocab: Union[Auto, bool, VocabMultiple] = Field(
        "auto", description="Compute language-model output heads (a linear tied to an embedding, or the logits of a "
                            "language_model/seq2seq program) with the vocabulary padded to a multiple of this (true: "
                            "64); logits are sliced back, so results and weights are unchanged. auto: 64 on CUDA.")
    static_shapes: Union[Auto, bool] = Field(
        "auto", description="Drop the last partial train batch and compile for fixed shapes (no recompilation, CUDA "
                            "graphs possible); auto: on when the model is compiled.")
    compile_mode: Literal["default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"] = Field(
        "default", description="torch.compile mode when compiling: reduce-overhead replays CUDA graphs (small models), "
                               "max-autotune also searches kernels (long compilation).")


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
