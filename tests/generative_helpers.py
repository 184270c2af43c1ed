"""Helpers of the generative-program tests: sessions from spec text, an interrupting reporter, and
the digits CNN of examples/digits_cnn.yaml as a judge of generated digits."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import torch

from conftest import EXAMPLES
from netspec.check import check
from netspec.train.session import build_session


def problems(path: Path) -> list[tuple[tuple, str]]:
    """(spec path, message) of every error `netspec validate` reports for the spec."""
    from netspec.errors import NetspecError

    try:
        check(path)
    except NetspecError as exc:
        return [(e.path, e.message) for e in getattr(exc, "errors", [exc])]
    return []


def session_for(path: Path, overrides: tuple[str, ...] = (), device: str = "cpu", **kwargs):
    """A session on the CPU (tests that replay a step with torch ops use the CPU RNG)."""
    return build_session(check(path, list(overrides)), device=device, **kwargs)


class Interrupt(Exception):
    pass


class StopAfter:
    """A reporter that interrupts the run after epoch ``k`` (its checkpoint is written by then)."""

    def __init__(self, k: int) -> None:
        self.k = k

    def start(self, *a):
        pass

    def batch(self, *a):
        pass

    def epoch(self, row):
        if row["epoch"] == self.k:
            raise Interrupt


def digits_arrays(spec: Path, split: str = "val") -> dict[str, np.ndarray]:
    """The preprocessed arrays of a spec's data split (the same split the run used)."""
    from netspec.data import prepare_data
    from netspec.train.programs import runtime_class
    from netspec.train.session import resolve_plan

    checked = check(spec)
    plan = resolve_plan(checked)
    view = runtime_class(plan.program).data_graph(checked.graphs, plan)
    return prepare_data(checked.spec, plan, view, spec.parent).arrays[split]


class DigitsJudge:
    """The example CNN (examples/digits_cnn.yaml, trained briefly) scoring images given in the
    raw digits scale (0…16): class probabilities p(y | x)."""

    def __init__(self, run_dir: Path) -> None:
        from netspec.checkpoint import load_checkpoint, rebuild_models

        ckpt = load_checkpoint(run_dir / "best.pt")
        self.model = rebuild_models(ckpt)["model"]
        image = ckpt["preprocess"]["image"]
        self.mean, self.std = image["mean"][0], image["std"][0]
        self.val_accuracy = ckpt["metrics"]["val.accuracy"]

    @torch.no_grad()
    def probs(self, raw: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.model((raw.float() - self.mean) / self.std), dim=1)

    @staticmethod
    def confidence(p: torch.Tensor) -> float:
        """Mean probability of the predicted class (1/10 for a judge that cannot tell)."""
        return float(p.max(1).values.mean())

    @staticmethod
    def coverage(p: torch.Tensor, confident: float = 0.9, share: float = 0.03) -> int:
        """Classes that receive at least ``share`` of the samples as confident (> 0.9) predictions."""
        labels = p.argmax(1)[p.max(1).values > confident]
        return int((torch.bincount(labels, minlength=p.shape[1]).float() / len(p) >= share).sum())


def train_judge(out: Path, epochs: int = 8) -> DigitsJudge:
    from netspec.train.api import train_spec

    train_spec(EXAMPLES / "digits_cnn.yaml", [f"train.epochs={epochs}"], out=out)
    return DigitsJudge(out)


def generator_of(run_dir: Path, name: str = "generator") -> torch.nn.Module:
    from netspec.checkpoint import load_checkpoint, rebuild_models

    return rebuild_models(load_checkpoint(run_dir / "last.pt"))[name]


def untrained(spec: Path, name: str, seed: int = 0) -> torch.nn.Module:
    from netspec.compiler import compile_model

    return compile_model(check(spec).graphs[name], seed=seed).eval()


def draw(generator: torch.nn.Module, n: int, z_dim: int, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
    z = torch.randn(n, z_dim, generator=torch.Generator().manual_seed(123))
    with torch.no_grad():
        return generator(z, labels) if labels is not None else generator(z)
