"""CPU intra-op threads for a run (``train.threads: auto | N``).

On a small machine the thread count decides CPU training speed more than anything else: torch's
default uses every core, and when a step is small (a digits MLP) the threads spend their time
waking up and waiting for each other; with another process busy on a core, each parallel region
waits for a descheduled thread. Measured on a 2-core machine with the other core loaded: the
digits MLP trained in 37 s with 2 threads and in 4.5 s with 1.

``auto`` leaves an explicit choice alone: ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS`` in the
environment, or a ``torch.set_num_threads`` made by the program before (a count that is not
torch's default, or not the one netspec set last). Otherwise, on a CPU device, it uses 1 thread
when a training step needs fewer than ``SMALL_STEP_FLOPS`` (3 × forward FLOPs per sample × batch
size: about 25 ms of one core's work, too little to share), and above that the cores the process
may run on that other processes do not keep busy (the 1-minute load average), at least one. On a
GPU the CPU only feeds the device, and auto leaves torch's setting. The count is process-wide
(torch has one intra-op pool).

Why the load counts: an MLP step on the same 2-core machine with a load average of 3.3 took, with
1 thread and 2: 0.6 ms vs 52 ms at 1e7 FLOPs, 26 ms vs 197 ms at 1e9, 175 ms vs 645 ms at 7e9.
A thread that waits for a core it does not get stalls every parallel region.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional, Union

import torch

#: training FLOPs per step below which one thread is faster than several (see the module docstring)
SMALL_STEP_FLOPS = 1e9
ENV_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")

_initial: Optional[int] = None  # torch's count before netspec first changed it
_ours: Optional[int] = None  # the count netspec set last


@dataclass(frozen=True)
class ThreadChoice:
    count: int
    reason: str
    keep: bool = False  # someone else chose the count: leave it


def cores() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def free_cores() -> int:
    """The cores this process may use that the 1-minute load average does not fill (at least 1)."""
    try:
        busy = int(os.getloadavg()[0] + 0.5)
    except (AttributeError, OSError):  # no load average (Windows)
        busy = 0
    return max(cores() - busy, 1)


def auto_count(step_flops: float, available: int) -> int:
    """The auto rule alone: 1 thread for small steps, the available cores otherwise."""
    return 1 if step_flops < SMALL_STEP_FLOPS else max(available, 1)


def explicit_setting(env: Optional[dict] = None) -> Optional[str]:
    """Why the current count was chosen by someone else, or None when it is torch's default or ours."""
    env = os.environ if env is None else env
    for var in ENV_VARS:
        if env.get(var, "").strip():
            return f"{var}={env[var].strip()}"
    current = torch.get_num_threads()
    if _ours is not None:
        return None if current == _ours else f"torch.set_num_threads({current})"
    n = os.cpu_count() or 1
    if current not in {cores(), n, max(n // 2, 1)}:  # torch's default is one of these (logical or physical cores)
        return f"torch.set_num_threads({current})"
    return None


def choose_threads(setting: Union[str, int], step_flops: float, device_type: str,
                   env: Optional[dict] = None) -> ThreadChoice:
    """The intra-op thread count for a run (without applying it)."""
    if setting != "auto":
        return ThreadChoice(int(setting), "train.threads")
    current = torch.get_num_threads()
    explicit = explicit_setting(env)
    if explicit is not None:
        return ThreadChoice(current, f"kept: {explicit}", keep=True)
    if device_type != "cpu":
        return ThreadChoice(_initial or current, f"device {device_type}: torch's default")
    small = step_flops < SMALL_STEP_FLOPS
    count = auto_count(step_flops, free_cores())
    why = "small step" if small else f"large step, {count} of {cores()} cores free"
    return ThreadChoice(count, f"auto: {why} ({step_flops:.2g} training FLOPs, threshold {SMALL_STEP_FLOPS:.0e})")


def apply_threads(choice: ThreadChoice) -> None:
    """Set the count (process-wide), remembering torch's original one and ours."""
    global _initial, _ours
    if choice.keep:
        return
    if _initial is None:
        _initial = torch.get_num_threads()
    if torch.get_num_threads() != choice.count:
        torch.set_num_threads(choice.count)
    _ours = choice.count
