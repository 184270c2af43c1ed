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

from typing import Annotated, Literal, Union

from pydantic import Field

from ..optimizers import fused_tags
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
