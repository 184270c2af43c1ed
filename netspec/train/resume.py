"""What ``--resume`` continues: the checkpoint of the run, the command-line overrides the run was
started with, and a check that the spec has not changed under it.

A run records the ``--set`` values it was started with (``--epochs N`` is ``train.epochs=N``) in
every checkpoint, so ``netspec train SPEC --resume RUN`` re-applies them before any new ones: the
resumed run trains the spec the run recorded. A resolved spec that differs from the recorded one
anywhere but where this command line changes it explicitly is refused, naming the keys: a spec file
edited since the run started would otherwise continue as a different experiment without a word.
"""

from __future__ import annotations

from typing import Any, Iterable

import yaml

from ..errors import SpecPath, TrainError, format_path


def override_key(text: str) -> str:
    """``train.optimizer.lr=3e-4`` -> ``train.optimizer.lr``."""
    return text.split("=", 1)[0].strip()


def resumed_overrides(ckpt: dict[str, Any], new: Iterable[str]) -> list[str]:
    """The overrides the run was started with, then this command line's (the last of each key)."""
    merged: dict[str, str] = {}
    for text in [str(s) for s in ckpt.get("overrides") or []] + list(new):
        merged.pop(override_key(text), None)
        merged[override_key(text)] = text
    return list(merged.values())


def check_unchanged(ckpt: dict[str, Any], resolved: str, new: Iterable[str]) -> None:
    """Refuse a resume whose resolved spec differs from the run's outside the keys set now."""
    recorded = ckpt.get("spec_text")
    if not isinstance(recorded, str):
        return
    allowed = [override_key(s) for s in new]
    changes = [c for c in spec_changes(recorded, resolved) if not any(_under(format_path(c[0]), key) for key in allowed)]
    if changes:
        (first, old, now), rest = changes[0], changes[1:]
        also = "; ".join(f"{format_path(p)}: {_short(a)} -> {_short(b)}" for p, a, b in rest[:3])
        also += f" (and {len(rest) - 3} more)" if len(rest) > 3 else ""
        raise TrainError(f"changed since the run in {ckpt.get('loaded_from', 'the checkpoint')} started: {_short(old)} -> "
                         f"{_short(now)}" + (f"; also {also}" if also else ""), path=first,
                         hint="resume with the spec the run was started with, give a change you mean with --set "
                              "KEY=VALUE, or start a new run")


def _under(path: str, key: str) -> bool:
    return path == key or path.startswith(key + ".") or path.startswith(key + "[")


def spec_changes(old_text: str, new_text: str) -> list[tuple[SpecPath, Any, Any]]:
    """The leaf values that differ between two resolved specs: (spec path, old, new)."""
    out: list[tuple[SpecPath, Any, Any]] = []
    _walk(yaml.safe_load(old_text), yaml.safe_load(new_text), (), out)
    return out


def _walk(a: Any, b: Any, path: SpecPath, out: list) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in dict.fromkeys([*a, *b]):
            _walk(a.get(key), b.get(key), path + (key,), out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            _walk(x, y, path + (i,), out)
    elif a != b:
        out.append((path, a, b))


def _short(value: Any) -> str:
    text = "(absent)" if value is None else str(value)
    return text if len(text) <= 40 else text[:37] + "..."

