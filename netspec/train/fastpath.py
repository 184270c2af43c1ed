"""The fast path of a run: ``train.precision``, ``train.compile``, ``train.threads`` and
``train.performance`` resolved for the device (every ``auto`` becomes a concrete choice), then
applied to the process, the data, the models and the step.

``resolve_fast_path(train, device, graphs)`` -> ``FastPath``; the session then calls
``apply_process()`` (TF32 flags and CPU threads: process-wide), ``data_spec(spec.data)`` (drop the
last partial train batch for static shapes), ``prepare(model, graph)`` (channels_last weights and
inputs, padded vocabulary heads) and ``compile(fn)``. The choices and their reasons are in
``describe()``. What each ``auto`` means:

=============== ===================================================================================
precision       bf16-mixed on CUDA with native bf16, fp16-mixed + grad scaler on older GPUs, else fp32
compile         on CUDA when a training step needs ≥ ``COMPILE_STEP_FLOPS`` (3 × forward × batch)
threads         ``netspec.train.threads`` (CPU: 1 thread for small steps, the free cores for large ones)
tf32            on for CUDA
optimizer_impl  fused on CUDA where torch has it, foreach for the others, torch's default elsewhere
channels_last   on for CUDA when the model has 2-d convolutions
attention       PyTorch's own choice of scaled_dot_product_attention kernel
pad_vocab       64 on CUDA, for linear heads tied to an embedding or giving a language model's logits
static_shapes   on when compiling
=============== ===================================================================================

Host syncs: a step never reads a device value on the host (losses and metrics accumulate on the
device; the loop reads them once per epoch), so the CPU runs ahead of the GPU. fp16-mixed is the
exception: the grad scaler reads whether gradients overflowed at every optimizer step.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Callable

import torch

from ..checks.performance import has_conv2d, vocab_heads
from ..nn.vocab import pad_vocab
from .runtime import resolve_precision
from .threads import ThreadChoice, apply_threads, choose_threads

#: training FLOPs per step from which compiling pays on a GPU (about 0.3 ms of an H100 at 40% MFU;
#: smaller steps finish before compilation, ~30-60 s for a model, would be repaid)
COMPILE_STEP_FLOPS = 1e11
DEFAULT_VOCAB_MULTIPLE = 64


def step_flops(graphs: dict, batch_size: int) -> float:
    """Training FLOPs of one step: forward FLOPs per sample × batch × 3 (backward ≈ 2 × forward)."""
    return 3.0 * sum(g.flops for g in graphs.values()) * batch_size


@dataclass(frozen=True)
class FastPath:
    device_type: str
    precision: str
    compile: bool
    compile_mode: str
    static_shapes: bool
    tf32: bool
    optimizer_impl: str  # the setting; netspec.train.optim.resolve_impl picks per optimizer and device
    channels_last: bool
    attention: str
    pad_vocab: int  # the multiple; 0 = off
    threads: ThreadChoice
    step_flops: float
    program: str = "supervised"

    def describe(self) -> dict[str, Any]:
        out = asdict(self)
        out["threads"] = {"count": self.threads.count, "reason": self.threads.reason}
        return out

    def resolved(self, train: Any) -> Any:
        """``train`` with ``precision``, ``compile`` and ``threads`` as chosen (reports show them)."""
        return train.model_copy(update={"precision": self.precision, "compile": self.compile,
                                        "threads": self.threads.count})

    def apply_process(self) -> None:
        """Process-wide settings: TF32 on CUDA (explicitly off when ``tf32: false``) and CPU threads."""
        if self.device_type == "cuda":
            set_tf32(self.tf32)
        apply_threads(self.threads)

    def data_spec(self, data: Any) -> Any:
        """The data section with ``drop_last`` for the train batches when shapes must stay static."""
        if not self.static_shapes or data is None or data.loader.drop_last:
            return data
        return data.model_copy(update={"loader": data.loader.model_copy(update={"drop_last": True})})

    def prepare(self, model: torch.nn.Module, graph: Any) -> list[str]:
        """channels_last and vocabulary padding on one compiled model; returns what was changed."""
        done = []
        if self.channels_last and has_conv2d(graph):
            to_channels_last(model)
            done.append("channels_last")
        if self.pad_vocab:
            for name in vocab_heads(graph, self.program):
                if pad_vocab(model.get_submodule(name), self.pad_vocab):
                    done.append(f"pad_vocab:{name}")
        return done

    def compile_fn(self, fn: Callable) -> Callable:
        """``torch.compile(fn)`` with the mode, and fixed shapes when ``static_shapes``."""
        mode = None if self.compile_mode == "default" else self.compile_mode
        return torch.compile(fn, mode=mode, dynamic=False if self.static_shapes else None)


def resolve_fast_path(train: Any, device: torch.device, graphs: dict) -> FastPath:
    perf, kind = train.performance, device.type
    cuda = kind == "cuda"
    flops = step_flops(graphs, train.batch_size)
    compile_on = (cuda and flops >= COMPILE_STEP_FLOPS) if train.compile == "auto" else bool(train.compile)
    pad = perf.pad_vocab
    multiple = (DEFAULT_VOCAB_MULTIPLE if cuda else 0) if pad == "auto" else (DEFAULT_VOCAB_MULTIPLE if pad is True else int(pad))
    return FastPath(
        device_type=kind,
        precision=resolve_precision(train.precision, device),
        compile=compile_on,
        compile_mode=perf.compile_mode,
        static_shapes=compile_on if perf.static_shapes == "auto" else perf.static_shapes,
        tf32=cuda if perf.tf32 == "auto" else perf.tf32,
        optimizer_impl=perf.optimizer_impl,
        channels_last=(cuda and any(has_conv2d(g) for g in graphs.values())) if perf.channels_last == "auto"
        else perf.channels_last,
        attention=perf.attention if cuda else "auto",
        pad_vocab=multiple,
        threads=choose_threads(train.threads, flops, kind),
        step_flops=flops,
        program=train.program.type,
    )


def set_tf32(on: bool) -> None:
    """TF32 for fp32 matmuls and cuDNN convolutions. Set through ``set_float32_matmul_precision``
    and ``cudnn.allow_tf32``, which keep torch's two views of the flag consistent: setting
    ``torch.backends.cuda.matmul.fp32_precision`` alone (the ≥ 2.9 spelling) makes every later
    read of ``allow_tf32`` raise, and torch.compile's inductor reads it."""
    torch.set_float32_matmul_precision("high" if on else "highest")
    torch.backends.cudnn.allow_tf32 = on


def _channels_last_inputs(module: torch.nn.Module, args: tuple) -> tuple:
    return tuple(a.contiguous(memory_format=torch.channels_last)
                 if isinstance(a, torch.Tensor) and a.dim() == 4 and a.is_floating_point() else a for a in args)


def to_channels_last(model: torch.nn.Module) -> None:
    """4-d weights and 4-d floating inputs in NHWC order (the values are unchanged)."""
    model.to(memory_format=torch.channels_last)
    model.register_forward_pre_hook(_channels_last_inputs)
