"""The ``data:`` section: where samples come from, how they are split, preprocessed, augmented
and bound to the model's inputs and the losses' targets. Plain pydantic, no torch.

source             fields
=================  ============================================================================
sklearn            ``features`` (F,) float32 (``images: true`` on digits: ``image`` (1, 8, 8)),
                   ``target`` (int64 class index, or float for diabetes)
csv / parquet      ``features`` (F,) (categorical columns one-hot encoded), ``target``
arrays (.npz/.npy) one field per array key (``x``/``y`` keys renamed by ``fields:``)
image_folder       ``image`` (C, H, W) float32 in [0, 1], ``target`` (class index by folder)
text               ``tokens`` (seq_len,) int64 windows; ``next`` the same shifted by one
jsonl              ``tokens`` (max_len,) int64 padded, ``lengths``, optional ``target`` (a label, or
                   (max_len,) labels per token padded with the ignore index)
generated          ``features``/``image``/``tokens`` and ``target`` (see ``Generated.kind``)
stdlib_text        like ``text``, from Python's own standard library (see ``netspec.spec.task_sources``)
sequence_task      ``src``, ``src_lengths``, ``tgt_in``, ``tgt_out`` (generated seq2seq pairs)
shapes             ``image`` (1, H, W) and ``mask`` (H, W) (generated shapes with masks)
graphs             ``features`` (nodes, F), ``adjacency`` (nodes, nodes), ``target`` (nodes,) (generated graphs)
=================  ============================================================================
=======
Every source yields named *fields* (arrays with one row per sample): each source class says which
in ``FIELDS`` and shows a use in ``EXAMPLE`` (a ``data.source`` value); the guide page
docs/guide/data-sources.md is generated from them and the schema (``python -m netspec.docs_gen``).

``inputs:`` maps each model input to a field (default: the only model input takes the only
non-target field) and the losses name their ``target`` field (default ``target``; the
reconstruction task uses the input itself). The training loop checks each bound field's
per-sample shape against the spec's input shape and reports a located DataError on mismatch.
"""

from typing import Annotated, Any, ClassVar, Literal, Optional, TypeVar, Union

from pydantic import BeforeValidator, Field, model_validator

from .base import NonNegInt, PositiveFloat, PositiveInt, Probability, StrictModel, tagged
from .reliability import BadSamples, BadSamplesError
from .task_sources import Graphs, SequenceTask, Shapes, StdlibText
from ..augmentations import AUGMENTATIONS

FieldName = Annotated[str, Field(pattern=r"^[A-Za-z_]\w*$")]
T = TypeVar("T")
Pair = Annotated[list[T], Field(min_length=2, max_length=2)]  # YAML has no tuples: a list of two


# ---- sources ------------------------------------------------------------------------------------

class Sklearn(StrictModel):
    """A dataset bundled with scikit-learn (no download)."""
    FIELDS: ClassVar[str] = ("`features` (F,) float32 (digits with `images: true`: `image` (1, 8, 8)); `target`: the "
                             "class index (int64), or a float for diabetes")
    EXAMPLE: ClassVar[str] = "{type: sklearn, name: digits, images: true}"
    type: Literal["sklearn"]
    name: Literal["digits", "iris", "wine", "breast_cancer", "diabetes"] = Field(description="Which bundled dataset.")
    images: bool = Field(False, description="digits only: give `image` (1, 8, 8) instead of `features` (64,).")


class _Tabular(StrictModel):
    path: str = Field(description="The file, relative to the spec file.")
    features: Optional[list[str]] = Field(None, description="Feature columns (default: every column but the targets).")
    target: Union[str, list[str], None] = Field(None, description="Target column(s); null for unlabelled data.")
    categorical: list[str] = Field(default=[], description="Columns one-hot encoded (categories from the train split).")
    classes: Optional[list[Union[str, int]]] = Field(None, description="Class labels in index order (default: sorted unique values of an integer or string target).")


class Csv(_Tabular):
    """A CSV file with a header row."""
    FIELDS: ClassVar[str] = ("`features` (F,) float32, categorical columns one-hot encoded; `target` (a class index, "
                             "or the number(s) of a regression)")
    EXAMPLE: ClassVar[str] = "{type: csv, path: houses.csv, target: price, categorical: [city]}"
    type: Literal["csv"]
    delimiter: str = Field(",", description="The column separator (one character, as Python's csv module takes it).")


class Parquet(_Tabular):
    """A Parquet file (needs pyarrow: `pip install pyarrow`, or the `parquet` extra)."""
    FIELDS: ClassVar[str] = "like csv: `features` (F,) float32, categorical columns one-hot encoded; `target`"
    EXAMPLE: ClassVar[str] = ("{type: parquet, path: measurements.parquet, features: [width, height, depth], target: "
                              "label}")
    type: Literal["parquet"]


class Arrays(StrictModel):
    """NumPy arrays: an .npz file (each key a field) or .npy files (field -> path)."""
    FIELDS: ClassVar[str] = ("one field per array (its key in the .npz, or the name given in `files`), renamed by "
                             "`rename`")
    EXAMPLE: ClassVar[str] = "{type: arrays, path: dataset.npz, rename: {x: features, y: target}}"
    type: Literal["arrays"]
    path: Optional[str] = Field(None, description="An .npz file; every array in it becomes a field.")
    files: dict[FieldName, str] = Field(default={}, description="field -> .npy file.")
    rename: dict[str, FieldName] = Field(default={}, description="Array key -> field name (e.g. {x: features, y: target}).")

    @model_validator(mode="after")
    def _one_of(self) -> "Arrays":
        if (self.path is None) == (not self.files):
            raise ValueError("give either `path` (an .npz file) or `files` (field: .npy file)")
        return self


class ImageFolder(StrictModel):
    """Images in one sub-folder per class (PNG/JPEG/BMP/GIF, read with Pillow)."""
    FIELDS: ClassVar[str] = ("`image` (C, H, W) float32 in [0, 1]; `target`: the class index (sub-folders in sorted "
                             "order)")
    EXAMPLE: ClassVar[str] = "{type: image_folder, path: images/train, size: [64, 64], channels: 3}"
    type: Literal["image_folder"]
    path: str = Field(description="The folder holding one sub-folder per class.")
    size: Optional[Pair[PositiveInt]] = Field(None, description="Resize every image to (H, W).")
    channels: Literal[1, 3] = Field(3, description="1 = grayscale, 3 = RGB.")


class Text(StrictModel):
    """A text file for language modelling: tokenized, cut into windows of seq_len + 1 tokens."""
    FIELDS: ClassVar[str] = "`tokens` (seq_len,) int64 windows; `next`: the same window shifted by one token"
    EXAMPLE: ClassVar[str] = "{type: text, path: corpus.txt, tokenize: char, seq_len: 128}"
    type: Literal["text"]
    path: str = Field(description="The text file (UTF-8), relative to the spec file.")
    tokenize: Literal["char", "whitespace"] = Field(
        "char", description="char: a token per character; whitespace: a token per whitespace-separated word.")
    seq_len: PositiveInt = Field(64, description="Tokens per training window (`tokens`; `next` is shifted by one).")
    stride: Optional[PositiveInt] = Field(None, description="Step between windows (default: seq_len).")
    lowercase: bool = Field(False, description="Lowercase the text before tokenizing.")


class Jsonl(StrictModel):
    """One JSON object per line with a list of token ids (and optionally a label, or a label per token)."""
    FIELDS: ClassVar[str] = ("`tokens` (max_len,) int64, padded; `lengths`: the true lengths; `target` when "
                             "`target:` names a key: a label, or (max_len,) labels per token padded with the ignore index")
    EXAMPLE: ClassVar[str] = "{type: jsonl, path: reviews.jsonl, tokens: ids, target: label}"
    type: Literal["jsonl"]
    path: str = Field(description="The .jsonl file, relative to the spec file.")
    tokens: str = Field("tokens", description="The key holding the token ids.")
    target: Optional[str] = Field(None, description="The key holding a label (class index or number), or a list of class "
                                                    "indices, one per token (tagging; padded with the loss's ignore_index).")
    classes: Optional[list[str]] = Field(None, description="Names of the class indices, in index order (reports, predictions).")


class Generated(StrictModel):
    """Procedurally generated data (seeded), for tests and examples."""
    FIELDS: ClassVar[str] = ('`features` (blobs, moons, linear), `image` (images) or `tokens` and `next` '
                            '(sequence); `target`: a class index (a float for linear)')
    EXAMPLE: ClassVar[str] = "{type: generated, kind: moons, num_samples: 1000, noise: 0.2, seed: 0}"
    type: Literal["generated"]
    kind: Literal["blobs", "moons", "linear", "images", "sequence"] = Field(
        description="blobs: Gaussian clusters (classes); moons: two interleaved half circles; linear: y = Xw + noise; "
                    "images: (C, H, W) class-dependent patterns; sequence: token sequences with a learnable rule.")
    num_samples: PositiveInt = Field(512, description="Number of samples.")
    num_features: PositiveInt = Field(8, description="blobs, linear: features per sample (moons always has 2).")
    num_classes: PositiveInt = Field(3, description="blobs, images, sequence: number of classes (moons always has "
                                                    "2).")
    shape: Optional[list[PositiveInt]] = Field(None, description="images: (C, H, W); sequence: (L,).")
    vocab_size: PositiveInt = Field(16, description="sequence: token ids are 0 … vocab_size - 1.")
    noise: float = Field(0.1, ge=0, description="Standard deviation of the Gaussian noise (blobs: added to a cluster "
                                                "spread of 1).")
    seed: int = Field(0, description="Seed of the generator: the same seed gives the same data.")


Source = tagged(Union[Sklearn, Csv, Parquet, Arrays, ImageFolder, Text, Jsonl, Generated, StdlibText, SequenceTask, Shapes,
                      Graphs],
                "Where samples come from: a name (for sklearn use {type: sklearn, name: digits}) or {type: ..., ...}.")


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
    seed: int = 0

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
    seed: int = 0

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
