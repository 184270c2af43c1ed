"""What a spec costs before anything is allocated: parameters and training memory, checked against
the spec's ``constraints`` and netspec's global ceilings (``netspec.limits``) by `netspec validate`,
and against the memory that is free on the device when training starts.

Plain Python: no torch at import time (`validate` must not import it). The memory estimate is
``summary_extras.training_memory`` per model (weights + gradients + optimizer state + batch ×
(inputs + activations)) with the spec's optimizer, batch size and precision; it leaves out
framework workspaces, so a refusal means the run cannot fit, while a pass does not promise it will.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from .errors import NetspecError, SpecError, TrainError
from .limits import MAX_PARAMS, MAX_TRAIN_BYTES
from .optimizers import optimizer_for
from .summary_extras import training_memory

PARTS = ("weights", "gradients", "optimizer_state", "activations", "inputs")


@dataclass
class Estimate:
    """Parameters of every model and the bytes one training step needs, by part."""

    params: int
    batch_size: int
    parts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.parts.get(p, 0) for p in PARTS)

    def describe(self) -> str:
        shown = ", ".join(f"{p.replace('_', ' ')} {human_bytes(self.parts[p])}" for p in PARTS if self.parts.get(p))
        return f"{human_bytes(self.total)} ({shown}; batch size {self.batch_size})"


def estimate(spec: Any, graphs: dict) -> Estimate:
    """The training estimate for ``spec`` (its train section's defaults when it has none)."""
    from .spec.train import TrainSpec

    train = spec.train or TrainSpec()
    parts = dict.fromkeys(PARTS, 0)
    for name, graph in graphs.items():
        opt = optimizer_for(train, name)
        for part, value in training_memory(graph, train.batch_size, opt, train.precision).items():
            if part in parts:
                parts[part] += value
    return Estimate(sum(g.params for g in graphs.values()), train.batch_size, parts)


def check_resources(spec: Any, graphs: dict) -> list[NetspecError]:
    """The global ceilings `netspec validate` enforces (the spec's own max_params / max_flops are
    checked with the other constraints); a spec raises a ceiling by stating a larger constraint."""
    c = spec.constraints
    est = estimate(spec, graphs)
    errors: list[NetspecError] = []
    if c.max_params is None and est.params > MAX_PARAMS:
        node = _largest_node(graphs)
        errors.append(SpecError(
            f"the spec has {est.params:,} parameters, more than netspec's ceiling of {MAX_PARAMS:,}",
            path=node.path if node else (), context=node.context if node else None,
            hint=f"{'this node holds ' + format(node.params, ',') + ' of them; ' if node else ''}"
                 "if the size is meant, raise the ceiling with `constraints: {max_params: N}`"))
    limit = c.max_memory_mb * 2**20 if c.max_memory_mb is not None else MAX_TRAIN_BYTES
    if est.total > limit:
        where = ("constraints", "max_memory_mb") if c.max_memory_mb is not None else (
            ("train", "batch_size") if spec.train is not None else ())
        ceiling = f"max_memory_mb {c.max_memory_mb:,}" if c.max_memory_mb is not None else \
            f"netspec's ceiling of {human_bytes(MAX_TRAIN_BYTES)}"
        errors.append(SpecError(f"training needs an estimated {est.describe()}, more than {ceiling}", path=where,
                                hint="use a smaller batch size or model"
                                     + ("" if c.max_memory_mb is not None else
                                        ", or raise the ceiling with `constraints: {max_memory_mb: N}`")))
    return errors


def human_bytes(n: float) -> str:
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:,.2f} {unit}"
    return f"{int(n)} B"


def _largest_node(graphs: dict) -> Any:
    nodes = [n for g in graphs.values() for n in g.nodes]
    return max(nodes, key=lambda n: n.params, default=None)


# ---- free memory when training starts -----------------------------------------------------------

def available_bytes(device: Any) -> Optional[int]:
    """Free memory for a run on ``device``: CUDA's free memory, or (CPU) the kernel's MemAvailable
    capped by the cgroup's limit; None where it cannot be known (MPS, non-Linux CPUs)."""
    kind = getattr(device, "type", str(device))
    if kind == "cuda":
        import torch

        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    if kind != "cpu":
        return None
    found = [v for v in (_meminfo_available(), _cgroup_available()) if v is not None]
    return min(found) if found else None


def _meminfo_available() -> Optional[int]:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _cgroup_available() -> Optional[int]:
    """cgroup v2 memory.max − memory.current, where a limit is set."""
    base = Path("/sys/fs/cgroup")
    try:
        limit = (base / "memory.max").read_text().strip()
        if limit == "max":
            return None
        return max(int(limit) - int((base / "memory.current").read_text().strip()), 0)
    except (OSError, ValueError):
        return None


def check_data_fits(spec: Any) -> None:
    """Before any data is read: refuse a source whose samples alone need more than the free memory
    (3 x 8192 x 8192 generated images died in MemoryError while being built, before check_fits ran)."""
    source = getattr(getattr(spec, "data", None), "source", None)
    need = source.memory_bytes() if source is not None and hasattr(source, "memory_bytes") else None
    free = available_bytes("cpu") if need else None
    if need and free is not None and need > free:
        raise TrainError(f"the data needs {human_bytes(need)} in memory, but only {human_bytes(free)} is free",
                         path=("data", "source"),
                         hint="use fewer or smaller samples, or a source read lazily from disk (image_folder, shards)")


def check_fits(spec: Any, graphs: dict, device: Any, free: Optional[int] = None) -> Optional[Estimate]:
    """Raise a TrainError (with the numbers) when the estimate exceeds the free memory of ``device``."""
    free = available_bytes(device) if free is None else free
    if free is None:
        return None
    est = estimate(spec, graphs)
    if est.total > free:
        raise TrainError(f"training needs an estimated {est.describe()}, but only {human_bytes(free)} is free on "
                         f"{getattr(device, 'type', device)}", path=("train", "batch_size"),
                         hint="use a smaller batch size or model, or a device with more memory")
    return est
