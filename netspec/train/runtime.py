"""Runtime: device choice, precision (autocast + grad scaler, ``auto`` by device, the preferred
attention kernel), seeding, determinism, RNG states.

RNG states are captured as plain data (lists and uint8 tensors) so they fit in a checkpoint that
is loaded with ``weights_only=True``.
"""

from __future__ import annotations

import contextlib
import os
import random
from typing import Any, Optional

import numpy as np
import torch

from ..errors import TrainError


def pick_device(name: str) -> torch.device:
    """auto: CUDA, then MPS, then CPU; an explicit device must exist."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise TrainError("device cuda requested, but CUDA is not available", path=("train", "device"), hint="use device: auto or cpu")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise TrainError("device mps requested, but MPS is not available", path=("train", "device"), hint="use device: auto or cpu")
    return dev


def resolve_precision(mode: str, device: torch.device) -> str:
    """``auto``: bf16-mixed on CUDA GPUs with native bf16 (Ampere and later), fp16-mixed with a grad
    scaler on older ones, fp32 on CPU and MPS (where 16-bit autocast is rarely faster)."""
    if mode != "auto":
        return mode
    if device.type == "cuda":
        return "bf16-mixed" if torch.cuda.is_bf16_supported(including_emulation=False) else "fp16-mixed"
    return "fp32"


#: train.performance.attention -> torch.nn.attention.SDPBackend member
SDPA_BACKENDS = {"flash": "FLASH_ATTENTION", "efficient": "EFFICIENT_ATTENTION", "cudnn": "CUDNN_ATTENTION",
                 "math": "MATH"}


def sdpa_priority(preferred: str) -> list:
    """Every SDPA backend, the preferred one first (the others stay as fallbacks)."""
    from torch.nn.attention import SDPBackend

    names = [SDPA_BACKENDS[preferred]] + [b for b in SDPA_BACKENDS.values() if b != SDPA_BACKENDS[preferred]]
    return [getattr(SDPBackend, n) for n in names]


class Precision:
    """autocast for the forward pass and, for fp16, a GradScaler for the backward pass; ``auto``
    resolves by device (``resolve_precision``). ``attention`` (a ``train.performance.attention``
    value) makes a CUDA forward pass prefer that scaled_dot_product_attention kernel."""

    def __init__(self, mode: str, device: torch.device, attention: str = "auto") -> None:
        mode = resolve_precision(mode, device)
        self.mode = mode
        self.dtype = {"bf16-mixed": torch.bfloat16, "fp16-mixed": torch.float16}.get(mode)
        if mode == "fp16-mixed" and device.type == "cpu":
            raise TrainError("fp16-mixed needs a GPU", path=("train", "precision"), hint="use bf16-mixed on CPU, or fp32")
        self.device_type = device.type
        self.scaler = torch.amp.GradScaler(device.type) if mode == "fp16-mixed" else None
        self.attention = sdpa_priority(attention) if attention != "auto" and device.type == "cuda" else None

    def autocast(self):
        if self.attention is None:
            if self.dtype is None:
                return contextlib.nullcontext()
            return torch.autocast(self.device_type, dtype=self.dtype)
        return self._with_attention()

    @contextlib.contextmanager
    def _with_attention(self):
        from torch.nn.attention import sdpa_kernel

        cast = torch.autocast(self.device_type, dtype=self.dtype) if self.dtype is not None else contextlib.nullcontext()
        with cast, sdpa_kernel(self.attention, set_priority=True):
            yield


def seed_everything(seed: int, deterministic: bool) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False


def rng_state(data_gen: Optional[torch.Generator] = None) -> dict[str, Any]:
    version, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)  # type: ignore[misc]
    py = random.getstate()
    state: dict[str, Any] = {
        "python": [py[0], list(py[1]), py[2]],
        "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos), "has_gauss": int(has_gauss),
                  "cached": float(cached)},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    if data_gen is not None:
        state["data"] = data_gen.get_state()
    return state


def set_rng_state(state: dict[str, Any], data_gen: Optional[torch.Generator] = None) -> None:
    version, keys, gauss = state["python"]
    random.setstate((version, tuple(keys), gauss))
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    if data_gen is not None and "data" in state:
        data_gen.set_state(state["data"])
