"""Shared machinery of the GPU training benchmarks (gpt2.py, resnet50.py).

Each workload builds the netspec run from its spec (``build_session``: the runner's fast path with
every ``auto`` resolved for the device) and a hand-written PyTorch reference of the same model,
configured from the session's resolved settings (``session.fast``): the same autocast dtype,
torch.compile mode, optimizer implementation, TF32, channels_last, attention kernel and vocabulary
padding. Then, in one process on one device:

1. loss curves: the reference starts from a copy of netspec's initial weights and both train on the
   same batches (netspec's, in its order) for ``--curve-steps`` steps, interleaved; this is also
   the warm-up (compilation, cuDNN autotuning, allocator);
2. throughput: ``--rounds`` rounds of ``--steps`` steps per side, interleaved (ABBA order), each
   timed between device synchronizations; samples/s per side is the median over rounds and the
   ratio is the median of the per-round netspec/reference ratios;
3. model FLOPs utilization: 3 × the summary's forward FLOPs per sample × samples/s, over the
   device's dense bf16 peak (``PEAK_BF16_TFLOPS``); peak memory per side: its resident state
   (parameters, buffers, optimizer state) plus the most its steps allocated on top.

Results: a JSON file per run and a Markdown section in bench/RESULTS.md (replaced on re-runs of
the same workload and variant).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import torch

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "specs"
RESULTS_DIR = Path(__file__).resolve().parent / "results"
RESULTS_MD = ROOT / "bench" / "RESULTS.md"

#: dense (no sparsity) bf16 tensor-core peaks in TFLOP/s, from NVIDIA's data sheets; matched in
#: order against torch.cuda.get_device_name() (so "H100 NVL" is found before "H100")
PEAK_BF16_TFLOPS = [
    ("H200 NVL", 835.0), ("H200", 989.4),
    ("H100 NVL", 835.0), ("H100 PCIe", 756.0), ("H100", 989.4),  # plain "H100 80GB HBM3" is the SXM part
    ("A100", 312.0), ("L4", 121.0),
]


def peak_tflops(device_name: str) -> Optional[float]:
    """The bf16 peak of a device by name, or None when the table does not know it."""
    for key, value in PEAK_BF16_TFLOPS:
        if key.lower() in device_name.lower():
            return value
    return None


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# ---- command line ---------------------------------------------------------------------------------

def arguments(description: str, defaults: dict[str, Any]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--device", default="auto", help="auto (CUDA when present), cuda, cuda:N or cpu")
    ap.add_argument("--tiny", action="store_true", help="a small model for a CPU smoke run")
    ap.add_argument("--batch-size", type=int, default=None)
    ap.add_argument("--curve-steps", type=int, default=None, help="loss-curve steps per side (also the warm-up)")
    ap.add_argument("--steps", type=int, default=None, help="timed steps per side per round")
    ap.add_argument("--rounds", type=int, default=None, help="interleaved timing rounds")
    ap.add_argument("--set", dest="overrides", action="append", default=[],
                    help="extra netspec override (e.g. train.compile=false); the reference follows the "
                         "resolved settings")
    ap.add_argument("--variant", default="default", help="name of this configuration in the results")
    ap.add_argument("--peak-tflops", type=float, default=None, help="the device's bf16 peak, for unknown devices")
    ap.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    ap.add_argument("--results-md", type=Path, default=RESULTS_MD, help="Markdown file to add the section to")
    ap.add_argument("--no-write", action="store_true", help="print only")
    args = ap.parse_args()
    size = "tiny" if args.tiny else "full"
    for key, value in defaults[size].items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    return args


def pick(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


# ---- the two sides --------------------------------------------------------------------------------

class NetspecSide:
    """The runner's per-step path: the session's train batches (cycled over epochs), the program's
    ``train_step`` with the session's updater, the loss summed on the device as the loop does."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.total = torch.zeros((), device=session.device)
        self._batches = self._cycle()
        for m in session.models.values():
            m.train()

    def _cycle(self) -> Iterator[dict]:
        loader, gen = self.session.data.loaders["train"], self.session.generator
        while True:
            yield from loader.epoch(gen)

    def next_batch(self) -> dict:
        return next(self._batches)

    def step(self, batch: Optional[dict] = None) -> torch.Tensor:
        batch = self.next_batch() if batch is None else batch
        loss = self.session.program.train_step(batch, self.session.updater)
        self.total += loss.float() * next(iter(batch.values())).shape[0]
        return loss


@dataclass
class Reference:
    """A hand-written model and its training step: ``loss_fn(batch) -> loss`` (forward and loss,
    compiled as one function when netspec compiles), optimizer, optional clipping and scaler."""
    model: torch.nn.Module
    loss_fn: Callable[[dict], torch.Tensor]
    optimizer: torch.optim.Optimizer
    dtype: Optional[torch.dtype]
    device: torch.device
    clip: Optional[float] = None
    scaler: Any = None
    attention: Any = None  # SDPA backend priority list (netspec's train.performance.attention)
    batches: Any = None  # a callable giving the next batch for throughput runs

    def autocast(self):
        import contextlib

        stack = contextlib.ExitStack()
        if self.dtype is not None:
            stack.enter_context(torch.autocast(self.device.type, dtype=self.dtype))
        if self.attention is not None:
            from torch.nn.attention import sdpa_kernel

            stack.enter_context(sdpa_kernel(self.attention, set_priority=True))
        return stack

    def step(self, batch: Optional[dict] = None) -> torch.Tensor:
        batch = self.batches() if batch is None else batch
        with self.autocast():
            loss = self.loss_fn(batch)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
        else:
            loss.backward()
        if self.clip is not None:
            if self.scaler is not None:
                self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.clip)
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return loss.detach()


def reference_settings(session: Any) -> dict[str, Any]:
    """What the reference copies from netspec's resolved fast path."""
    from netspec.optimizers import IMPL_KWARGS, optimizer_for
    from netspec.train.runtime import sdpa_priority

    fast, train = session.fast, session.train
    opt = optimizer_for(train, next(iter(session.models)))
    impl = opt.implementation(fast.optimizer_impl, fast.device_type)
    return {
        "dtype": {"bf16-mixed": torch.bfloat16, "fp16-mixed": torch.float16}.get(fast.precision),
        "optimizer_kwargs": IMPL_KWARGS[impl],
        "attention": sdpa_priority(fast.attention) if fast.attention != "auto" else None,
        "scaler": torch.amp.GradScaler(fast.device_type) if fast.precision == "fp16-mixed" else None,
    }


def compile_like(session: Any, fn: Callable) -> Callable:
    """The reference's function compiled exactly as netspec compiles its step (or left eager)."""
    return session.fast.compile_fn(fn) if session.fast.compile else fn


def random_batches(tensors: dict[str, torch.Tensor], batch_size: int, seed: int) -> Callable[[], dict]:
    """Batches drawn by index from device tensors (the same cost as netspec's on-device batches)."""
    device = next(iter(tensors.values())).device
    gen = torch.Generator(device=device).manual_seed(seed)
    n = len(next(iter(tensors.values())))
    state = {"order": None, "pos": n}

    def draw() -> dict:
        if state["pos"] + batch_size > n:
            state["order"], state["pos"] = torch.randperm(n, generator=gen, device=device), 0
        idx = state["order"][state["pos"]: state["pos"] + batch_size]
        state["pos"] += batch_size
        return {k: v.index_select(0, idx) for k, v in tensors.items()}

    return draw


def resident_bytes(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> int:
    """Parameters, buffers and optimizer state (each tensor once)."""
    seen: dict[int, int] = {}
    for t in list(model.parameters()) + list(model.buffers()):
        seen[id(t)] = t.numel() * t.element_size()
    for state in optimizer.state.values():
        for v in state.values():
            if isinstance(v, torch.Tensor):
                seen[id(v)] = v.numel() * v.element_size()
    return sum(seen.values())


# ---- measurements ---------------------------------------------------------------------------------

def loss_curves(ours: NetspecSide, ref: Reference, steps: int) -> tuple[list[float], list[float]]:
    """Both sides on the same batches (netspec's), interleaved; losses read once at the end."""
    a, b = [], []
    for _ in range(steps):
        batch = ours.next_batch()
        a.append(ours.step(batch).float())
        b.append(ref.step(batch).float())
    return torch.stack(a).tolist(), torch.stack(b).tolist()


@dataclass
class Timing:
    steps: int  # per side per round
    seconds: dict[str, list[float]] = field(default_factory=dict)  # per side, per round
    peak_step_bytes: dict[str, int] = field(default_factory=dict)  # allocated above the resident state


def interleave(sides: dict[str, Callable[[], Any]], steps: int, rounds: int, device: torch.device) -> Timing:
    """``rounds`` rounds of ``steps`` steps per side, ABBA order, synchronized around each block."""
    timing = Timing(steps, {name: [] for name in sides}, {name: 0 for name in sides})
    names = list(sides)
    for r in range(rounds):
        for name in (names if r % 2 == 0 else names[::-1]):
            sync(device)
            base = torch.cuda.memory_allocated(device) if device.type == "cuda" else 0
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            t0 = time.perf_counter()
            for _ in range(steps):
                sides[name]()
            sync(device)
            timing.seconds[name].append(time.perf_counter() - t0)
            if device.type == "cuda":
                peak = torch.cuda.max_memory_allocated(device) - base
                timing.peak_step_bytes[name] = max(timing.peak_step_bytes[name], peak)
    return timing


def compare_curves(ours: list[float], ref: list[float], rtol: float = 0.02, atol: float = 0.02,
                   window: int = 10) -> dict[str, Any]:
    """Whether two loss curves agree: at every step, the means of the last ``window`` losses differ
    by at most ``atol + rtol × |reference|`` (single steps may differ more: mixed-precision kernels
    round differently and the difference wanders; the trend must not)."""
    if len(ours) != len(ref) or not ours:
        raise ValueError("the curves need the same, non-zero number of steps")
    if not all(math.isfinite(v) for v in ours + ref):
        return {"agree": False, "reason": "a loss is not finite", "steps": len(ours)}
    diffs = [abs(a - b) for a, b in zip(ours, ref)]
    worst, worst_at = 0.0, 0
    for i in range(len(ours)):
        lo = max(0, i + 1 - window)
        a, b = statistics.fmean(ours[lo: i + 1]), statistics.fmean(ref[lo: i + 1])
        excess = abs(a - b) - (atol + rtol * abs(b))
        if i == 0 or excess > worst:
            worst, worst_at = excess, i
    return {"agree": worst <= 0, "steps": len(ours), "window": window, "rtol": rtol, "atol": atol,
            "max_abs_diff": max(diffs), "mean_abs_diff": statistics.fmean(diffs),
            "worst_step": worst_at, "worst_excess": worst,
            "first": [ours[0], ref[0]], "last": [ours[-1], ref[-1]]}


def summarize(name: str, timing: Timing, samples_per_step: int, units_per_sample: int, unit: str,
              fwd_flops_per_sample: int, peak: Optional[float], resident: dict[str, int]) -> dict[str, Any]:
    """Throughput (median over rounds), ratio, MFU and memory per side."""
    out: dict[str, Any] = {"unit": unit, "sides": {}}
    per_round = {k: [samples_per_step * timing.steps / s for s in v] for k, v in timing.seconds.items()}
    for side, rates in per_round.items():
        samples = statistics.median(rates)
        achieved = 3 * fwd_flops_per_sample * samples
        out["sides"][side] = {
            f"{unit}_per_s": samples * units_per_sample, "samples_per_s": samples,
            "achieved_tflops": achieved / 1e12, "mfu": achieved / (peak * 1e12) if peak else None,
            "peak_memory_gib": (resident[side] + timing.peak_step_bytes[side]) / 2**30
            if timing.peak_step_bytes.get(side) else None,
            "rounds_s": timing.seconds[side]}
    a, b = per_round["netspec"], per_round["reference"]
    out["ratio"] = statistics.median(x / y for x, y in zip(a, b))
    out["mfu_note"] = None if peak else "MFU unknown: no bf16 peak for this device (pass --peak-tflops)"
    return out


# ---- results --------------------------------------------------------------------------------------

def environment(device: torch.device) -> dict[str, Any]:
    return {"device": device_name(device), "torch": torch.__version__, "python": platform.python_version(),
            "cuda": torch.version.cuda, "platform": platform.platform(),
            "time": time.strftime("%Y-%m-%dT%H:%M:%S")}


def write_results(result: dict[str, Any], markdown: str, results_dir: Path, results_md: Path) -> list[Path]:
    """``results_dir/<workload>-<variant>.json`` and the Markdown section in ``results_md``
    (between markers: a re-run of the same workload and variant replaces its section)."""
    results_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{result['workload']}-{result['variant']}{'-tiny' if result.get('tiny') else ''}"
    json_path = results_dir / f"{stem}.json"
    json_path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    start, end = f"<!-- gpu_train:{stem}:start -->", f"<!-- gpu_train:{stem}:end -->"
    section = f"{start}\n{markdown.rstrip()}\n{end}\n"
    md = results_md
    text = md.read_text(encoding="utf-8") if md.is_file() else "# Benchmarks\n"
    if start in text and end in text:
        text = text[: text.index(start)] + section + text[text.index(end) + len(end) + 1:]
    else:
        text = text.rstrip() + "\n\n" + section
    md.parent.mkdir(parents=True, exist_ok=True)
    md.write_text(text, encoding="utf-8")
    return [json_path, md]


def finish(result: dict[str, Any], args: argparse.Namespace) -> None:
    """Print the Markdown section and write the results (unless --no-write)."""
    result["tiny"] = args.tiny
    md = markdown_section(result, result["command"])
    print(md)
    if not args.no_write:
        write_results(result, md, args.results_dir, args.results_md)


def markdown_section(result: dict[str, Any], command: str) -> str:
    s, env, unit = result["throughput"], result["environment"], result["throughput"]["unit"]
    curve = result["curves"]
    lines = [f"## GPU training: {result['title']} ({result['variant']}) on {env['device']}", "",
             f"`{command}`", "", f"Settings (netspec's resolved fast path, copied by the reference): "
             f"{result['settings_text']}.", "",
             f"| side | {unit}/s | MFU | achieved TFLOP/s | peak memory |", "|---|---|---|---|---|"]
    for side, v in s["sides"].items():
        mfu = f"{v['mfu']:.1%}" if v["mfu"] is not None else "n/a"
        mem = f"{v['peak_memory_gib']:.2f} GiB" if v["peak_memory_gib"] is not None else "n/a"
        lines.append(f"| {side} | {v[unit + '_per_s']:,.0f} | {mfu} | {v['achieved_tflops']:.3g} | {mem} |")
    lines += ["", f"Ratio netspec/reference: **{s['ratio']:.3f}** (median over {len(s['sides']['netspec']['rounds_s'])} "
                  f"interleaved rounds). " + (s["mfu_note"] or ""),
              f"Parameters: netspec {result['params']['netspec']:,}, reference {result['params']['reference']:,}"
              + (f", published {result['params']['published']:,}" if result['params'].get('published') else "") + ".",
              f"Loss curves over {curve['steps']} steps (same initial weights and batches): "
              f"{'agree' if curve['agree'] else 'DO NOT agree'} (window {curve.get('window')}, max |Δ| "
              f"{curve.get('max_abs_diff', float('nan')):.4g}, mean |Δ| {curve.get('mean_abs_diff', float('nan')):.4g}; "
              f"first {curve['first'][0]:.4f}/{curve['first'][1]:.4f}, last {curve['last'][0]:.4f}/{curve['last'][1]:.4f}).",
              f"torch {env['torch']}, CUDA {env['cuda']}, Python {env['python']}, {env['time']}."]
    return "\n".join(lines)


def command_line() -> str:
    script = Path(sys.argv[0]).resolve()
    shown = str(script.relative_to(ROOT)) if script.is_relative_to(ROOT) else sys.argv[0]
    return " ".join(["python", shown] + sys.argv[1:])
