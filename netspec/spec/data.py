"""The ``data:`` section: where samples come from, how they are split, preprocessed, augmented
and bound to the model's inputs and the losses' targets. Plain pydantic, no torch.

Every source yields named *fields* (arrays with one row per sample): each source class says which
in ``FIELDS`` and shows a use in ``EXAMPLE`` (a ``data.source`` value); the source classes are the
``netspec.sources`` registry and the augmentations the ``netspec.augmentations`` one. The guide page
docs/guide/data-sources.md is generated from them and the schema (``python -m netspec.docs_gen``).

``inputs:`` maps each model input to a field (default: the only model input takes the only
non-target field) and the losses name their ``target`` field (default ``target``; the
reconstruction task uses the input itself). The training loop checks each bound field's
per-sample shape against the spec's input shape and reports a located DataError on mismatch.
"""

from typing import TYPE_CHECKING, Annotated, Any, Literal, Optional, Union

from pydantic import BeforeValidator, Field, model_validator

from ..augmentations import AUGMENTATIONS
from ..sources import SOURCES
from ..strict import FieldName, Pair
from .base import NonNegInt, PositiveFloat, PositiveInt, Probability, Seed, StrictModel, tagged
from .reliability import BadSamples, BadSamplesError

# ---- sources: the classes are netspec.sources' (one module per source) -------------------------------

if TYPE_CHECKING:  # a registry's union is built at import time; the checker sees the base class
    from ..sources.base import Source
else:
    Source = SOURCES.union("Where samples come from: a name (for sklearn use {type: sklearn, name: digits}) or {type: ..., ...}.")


# ---- splits -------------------------------------------------------------------------------------

def _default_split_type(value: Any) -> Any:
    if isinstance(value, dict) and "type" not in value:
        return {"type": "ratio", **value}
    return {"type": value} if isinstance(value, str) else value


class RatioSplit(StrictModel):
    """Random split by ratio (train = the rest unless given); stratified by class when possible."""
    type: Literal["ratio"]
    train: Optional[PositiveFloat] = Field(None, description="Train share (default 1 - val - test).")
    val: Probability = Field(0.2, description="Validation share (10–20% is typical).")
    test: Probability = Field(0.0, description="Test share (evaluated once, with `netspec evaluate --split test`).")
    stratify: bool = Field(True, description="Keep class proportions in every split (classification).")
    seed: Seed = 0

    @model_validator(mode="after")
    def _sums(self) -> "RatioSplit":
        total = (self.train if self.train is not None else 1 - self.val - self.test) + self.val + self.test
        if self.train is None and self.val + self.test >= 1:
            raise ValueError(f"val + test = {self.val + self.test:g} leaves nothing to train on")
        if abs(total - 1) > 1e-6:
            raise ValueError(f"split ratios must sum to 1, got train + val + test = {total:g}")
        return self


class FilesSplit(StrictModel):
    """Explicit files: the source is the train split; val/test come from files of the same format."""
    type: Literal["files"]
    val: Optional[str] = None
    test: Optional[str] = None


class KFold(StrictModel):
    """k-fold cross-validation: fold `fold` is the validation split (stratified by class when possible)."""
    type: Literal["kfold"]
    k: int = Field(5, ge=2)
    fold: NonNegInt = 0
    stratify: bool = True
    seed: Seed = 0

    @model_validator(mode="after")
    def _fold(self) -> "KFold":
        if self.fold >= self.k:
            raise ValueError(f"fold must be < k ({self.k}), got {self.fold}")
        return self


Split = Annotated[Union[RatioSplit, FilesSplit, KFold], Field(discriminator="type"), BeforeValidator(_default_split_type)]


# ---- preprocessing ------------------------------------------------------------------------------

class Standardize(StrictModel):
    """z-score per feature: (x − mean) / std, statistics from the train split."""
    type: Literal["standardize"]


class MinMax(StrictModel):
    """(x − min) / (max − min) per feature, mapped to `range`; statistics from the train split."""
    type: Literal["minmax"]
    range: Pair[float] = [0.0, 1.0]


class NoScaling(StrictModel):
    """Leave features as they are."""
    type: Literal["none"]


if TYPE_CHECKING:  # the union itself, for the type checker; pydantic gets the tagged (discriminated) form
    Scaler = Union[Standardize, MinMax, NoScaling]
else:
    Scaler = tagged(Union[Standardize, MinMax, NoScaling])


class ImagePrep(StrictModel):
    """Image preprocessing: resize, then normalize per channel."""
    resize: Optional[Pair[PositiveInt]] = Field(None, description="(H, W), bilinear.")
    normalize: Union[Literal["auto", "none"], dict[str, list[float]]] = Field(
        "none", description="auto: per-channel mean/std of the train split; or {mean: [...], std: [...]}.")


class SequencePrep(StrictModel):
    """Pad (with pad_value) or truncate token sequences to max_len; `lengths` keeps the true lengths."""
    max_len: Optional[PositiveInt] = Field(None, description="Default: the longest train sequence.")
    pad_value: int = 0
    truncate: Literal["right", "left"] = "right"


class Preprocess(StrictModel):
    """Preprocessing fitted on the train split only and saved with the model."""
    features: Scaler = Field(default_factory=lambda: Standardize(type="standardize"), description="Scaling of `features`.")
    image: ImagePrep = Field(default_factory=ImagePrep)
    sequence: SequencePrep = Field(default_factory=SequencePrep)
    target: Scaler = Field(default_factory=lambda: NoScaling(type="none"),
                           description="Scaling of a regression target (metrics are reported in scaled units).")


# ---- augmentation (train split only, image fields): the classes are netspec.augmentations' ---------

if TYPE_CHECKING:
    from ..augmentations.base import Augmentation
else:
    Augmentation = AUGMENTATIONS.union()


# ---- loading -------------------------------------------------------------------------------------

class Loader(StrictModel):
    """How batches reach the model."""
    on_device: Union[Literal["auto"], bool] = Field(
        "auto", description="Keep the whole dataset as tensors on the device and batch by indexing "
                            "(auto: when it is under `max_device_mb`).")
    max_device_mb: PositiveInt = 1024
    num_workers: NonNegInt = Field(2, description="DataLoader workers when streaming.")
    pin_memory: bool = True
    drop_last: bool = False


class DataSpec(StrictModel):
    """Data for training, evaluation and prediction."""
    source: Source
    split: Split = Field(default_factory=lambda: RatioSplit(type="ratio"))
    preprocess: Preprocess = Field(default_factory=Preprocess)
    augment: list[Augmentation] = Field(default=[], description="Image augmentations (train split only).")
    inputs: dict[FieldName, FieldName] = Field(default={}, description="Model input -> data field.")
    class_weights: Union[Literal["auto"], list[PositiveFloat], None] = Field(
        None, description="Per-class loss weights, or auto (inverse class frequency of the train split).")
    sampler: Literal["shuffle", "weighted", "sequential"] = Field(
        "shuffle", description="weighted: draw classes with inverse-frequency probability (oversampling).")
    loader: Loader = Field(default_factory=Loader)
    bad_samples: BadSamples = Field(default_factory=lambda: BadSamplesError(type="error"),
                                    description="Unusable rows (NaN, ragged, unreadable): error naming file and row, or skip.")
