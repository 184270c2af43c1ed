"""The ``export:`` section: how ``netspec export`` writes and verifies a model, kept in the spec so
CI exports the same way every time. Plain pydantic, no torch; the command line overrides it.

```yaml
export:
  models: [generator]            # which models (default: every model of the spec)
  onnx:
    opset: 18                    # 18 is the exporter's own; 9-17 through a down-conversion; up to 23
    dynamic: [batch, seq]        # axes left free in the ONNX graph (default: batch + every symbolic dim)
    verify:                      # or `verify: false`
      atol: 1.0e-4               # pass if |onnx - torch| <= atol + rtol * |torch| everywhere
      rtol: 0.0
      batch_sizes: [1, 3]        # >= 2 sizes, run in onnxruntime and PyTorch
      dims: {seq: [5, 11]}       # sizes of symbolic dims to verify at (default: two that differ from dims:)
```

``check_names`` adds the cross-section rules (known models and dims), so ``netspec validate``
reports a misspelt axis at its place in ``export:``.
"""

from typing import Annotated, Any, Optional, Union

from pydantic import BeforeValidator, Field, field_validator

from .base import PositiveInt, Seed, StrictModel

MIN_OPSET, NATIVE_OPSET, MAX_OPSET = 9, 18, 23
BATCH = "batch"
NonNegFloat = Annotated[float, Field(ge=0)]


class VerifySpec(StrictModel):
    """Parity of the exported file with PyTorch, in onnxruntime, on random inputs."""

    enabled: bool = Field(True, description="Verify after export (`verify: false` is short for `{enabled: false}`).")
    atol: NonNegFloat = Field(1e-4, description="Absolute tolerance (float outputs; integer outputs must be equal).")
    rtol: NonNegFloat = Field(0.0, description="Relative tolerance, added to atol times |PyTorch output|.")
    batch_sizes: list[PositiveInt] = Field(
        default=[1, 3], min_length=2, description="Batch sizes to run (at least two; they differ from the export's example batch 2).")
    dims: dict[str, list[PositiveInt]] = Field(
        default={}, description="Sizes of symbolic dims to verify at, one per batch size (default: sizes the graph accepts "
                                "that differ from the example in `dims:`).")
    seed: Seed = Field(0, description="Seed of the random inputs.")

    @field_validator("batch_sizes")
    @classmethod
    def _distinct(cls, value: list[int]) -> list[int]:
        if len(set(value)) < 2:
            raise ValueError("give at least two different batch sizes")
        return value


def _verify_shorthand(value: Any) -> Any:
    return {"enabled": value} if isinstance(value, bool) else value


class OnnxSpec(StrictModel):
    """ONNX options."""

    opset: int = Field(NATIVE_OPSET, ge=MIN_OPSET, le=MAX_OPSET, description="ONNX opset version (9-23; 18 is native).")
    dynamic: Optional[list[str]] = Field(
        None, description="Axes left dynamic, by name: `batch` and symbolic dims of the inputs (default: all of them).")
    verify: Annotated[VerifySpec, BeforeValidator(_verify_shorthand, json_schema_input_type=Union[bool, VerifySpec])] = Field(
        default_factory=VerifySpec, description="Verify in onnxruntime against PyTorch: true (the defaults), false, or options.")


class ExportSpec(StrictModel):
    """How `netspec export` writes the model(s)."""

    models: Optional[list[str]] = Field(None, min_length=1, description="Models to export (default: all).")
    onnx: OnnxSpec = Field(default_factory=OnnxSpec, description="ONNX options.")


def input_dims(inputs: dict[str, Any]) -> list[str]:
    """Names of the symbolic dims of some inputs (a null dim is ``<input>_dim<i>``), in order."""
    out: list[str] = []
    for name, spec in inputs.items():
        for i, d in enumerate(spec.shape):
            sym = d if isinstance(d, str) else f"{name}_dim{i}" if d is None else None
            if sym is not None and sym not in out:
                out.append(sym)
    return out


def check_names(spec: Any) -> None:
    """Cross-section rules for ``Spec`` validation: exported models exist, dynamic axes and verified
    dims name `batch` or symbolic dims of the exported models' inputs. Raises a ValidationError
    whose errors point into ``export:``."""
    from pydantic import ValidationError
    from pydantic_core import InitErrorDetails, PydanticCustomError

    export, models = spec.export, spec.model_defs()
    if export is None:
        return
    problems: list[tuple[tuple[Any, ...], str, Any]] = []
    for i, name in enumerate(export.models or []):
        if name not in models:
            problems.append((("export", "models", i), f"no model named {name!r}{_suggest(name, models)}", name))
    picked = [m for n, m in models.items() if n in (export.models or [])]
    chosen = picked if export.models and len(picked) == len(export.models) else list(models.values())
    known = [BATCH] + [d for m in chosen for d in input_dims(m.inputs if m.inputs is not None else spec.inputs)]
    for i, name in enumerate(export.onnx.dynamic or []):
        if name not in known:
            problems.append((("export", "onnx", "dynamic", i), unknown_dim(name, known), name))
    for name in export.onnx.verify.dims:
        if name not in known[1:]:
            problems.append((("export", "onnx", "verify", "dims", name), unknown_dim(name, known[1:]), name))
    if problems:
        raise ValidationError.from_exception_data("Spec", [
            InitErrorDetails(type=PydanticCustomError("export_name", message), loc=loc, input=value)
            for loc, message, value in problems])


def unknown_dim(name: str, known: list[str]) -> str:
    listed = ", ".join(known) if known else "none (every input has a fixed shape)"
    return f"no axis named {name!r}{_suggest(name, known) or f'; the axes are: {listed}'}"


def _suggest(name: str, known: Any) -> str:
    from ..diagnostics import did_you_mean

    hint = did_you_mean(name, list(known))
    return f" ({hint})" if hint else ""
