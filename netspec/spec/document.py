"""The spec document: the top-level keys of a netspec YAML file."""

from typing import Literal, Optional, Union

from pydantic import Field, model_validator

from .base import PositiveInt, StrictModel
from .data import DataSpec
from .export import ExportSpec, check_names
from .model import BlockDef, Constraints, InputSpec, ModelDef
from .train import TrainSpec
from .tune import TuneSpec

SPEC_VERSION = 1


class Spec(StrictModel):
    """A netspec spec (format version 1)."""

    netspec: Literal[1] = Field(description="Spec format version. This netspec reads version 1.")
    name: Optional[str] = Field(None, description="A short name for the model (used in run directories and exports).")
    description: Optional[str] = None
    extends: Optional[Union[str, list[str]]] = Field(
        None, description="Base spec file(s), relative to this file; this file's keys override theirs.")
    dims: dict[str, PositiveInt] = Field(
        default={}, description="Example sizes of symbolic dims (e.g. seq: 128) for costs, tests and export.")
    inputs: dict[str, InputSpec] = Field(default={}, description="Named model inputs with per-sample shapes.")
    blocks: dict[str, BlockDef] = Field(default={}, description="Reusable parametrized sub-graphs.")
    model: Optional[ModelDef] = Field(None, description="The model (use `models` for several).")
    models: Optional[dict[str, ModelDef]] = Field(None, description="Several named models (a GAN's generator and discriminator).")
    constraints: Constraints = Field(default_factory=Constraints, description="Checks enforced by `netspec validate`.")
    data: Optional[DataSpec] = Field(None, description="Training data: source, split, preprocessing, augmentation.")
    train: Optional[TrainSpec] = Field(None, description="Training: task, losses, optimizer, schedule, metrics, runtime.")
    export: Optional[ExportSpec] = Field(None, description="How `netspec export` writes and verifies the model(s).")
    tune: Optional[TuneSpec] = Field(None, description="A hyperparameter search for `netspec tune`: space, objective, "
                                                      "sampler, pruner.")

    @model_validator(mode="after")
    def _one_model_section(self) -> "Spec":
        if self.model is not None and self.models is not None:
            raise ValueError("give either `model` or `models`, not both")
        if self.model is None and not self.models:
            raise ValueError("a spec needs a `model` (or `models` for several)")
        check_names(self)  # export: names known models and axes
        return self

    def model_defs(self) -> dict[str, ModelDef]:
        """Model name -> definition; a single `model` is named ``model``."""
        return {"model": self.model} if self.model is not None else dict(self.models or {})

    def model_path(self, name: str) -> tuple[str, ...]:
        return ("model",) if self.model is not None else ("models", name)
