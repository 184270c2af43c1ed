"""The ``train:`` section: program, task, losses, optimizer(s), schedule, metrics, regularization,
runtime. Plain pydantic, no torch; every choice is a ``type:``-tagged union that also accepts the
bare name (``optimizer: adam``).

A *program* says what one step does; ``supervised`` (the default) covers the tasks
classification (binary/multiclass/multilabel), regression, reconstruction and language_model.
Multi-model programs name one optimizer per model in ``optimizers: {model_name: ...}``.
Defaults follow the course (batch 32, early stopping on val.loss; the default optimizer is
``netspec.optimizers.default_optimizer()``).
"""

import re
from typing import TYPE_CHECKING, Annotated, Any, Literal, Optional, Union

from pydantic import BeforeValidator, Field, model_validator

from ..losses import LOSSES
from ..metrics import METRICS, metric_shorthand
from ..optimizers import OPTIMIZERS, default_description
from ..optimizers.sgd import Sgd as Sgd  # noqa: F401  (netspec.train.programs.perceptron imports it from here)
from ..programs import PROGRAMS
from ..programs.supervised import Supervised
from ..schedules import SCHEDULES
from .base import PositiveFloat, PositiveInt, Seed, StrictModel, tagged
from .distributed import DistributedSpec
from .log import LogSpec
from .performance import PerformanceSpec
from .reliability import Nonfinite, NonfiniteStop

Globs = list[str]


# ---- tasks and programs --------------------------------------------------------------------------

class Classification(StrictModel):
    """Class labels; mode auto picks binary (one logit), multilabel (0/1 target rows) or multiclass."""
    type: Literal["classification"]
    mode: Literal["auto", "binary", "multiclass", "multilabel"] = "auto"
    threshold: float = Field(0.5, gt=0, lt=1, description="Decision threshold on sigmoid outputs (binary, multilabel).")


class Regression(StrictModel):
    """Real-valued targets (scalar or vector)."""
    type: Literal["regression"]


class Reconstruction(StrictModel):
    """The target is the input itself (autoencoders)."""
    type: Literal["reconstruction"]


class LanguageModel(StrictModel):
    """Next-token prediction: output (L, vocab) logits per sample, target the next tokens."""
    type: Literal["language_model"]
    ignore_index: int = Field(-100, description="Target value skipped by the loss and metrics (padding).")


if TYPE_CHECKING:  # the union itself, for the type checker; pydantic gets the tagged (discriminated) form
    Task = Union[Classification, Regression, Reconstruction, LanguageModel]
else:
    Task = tagged(Union[Classification, Regression, Reconstruction, LanguageModel], "What the model learns to predict.")


if TYPE_CHECKING:  # a registry's union is built at import time; the checker sees the base class
    from ..programs.base import ProgramSpec as Program
else:
    Program = PROGRAMS.union("What one training step does.")


# ---- losses -------------------------------------------------------------------------------------
# One class per loss in netspec.losses (its schema, docs, planning rules and builder).
if TYPE_CHECKING:
    from ..losses.base import Loss
else:
    Loss = LOSSES.union()


def _as_list(value: Any) -> Any:
    return value if isinstance(value, list) or value is None else [value]


# ---- optimizers -----------------------------------------------------------------------------------

# the classes live in netspec.optimizers (one module each); Sgd is re-exported for the perceptron program
if TYPE_CHECKING:
    from ..optimizers.base import Optimizer
else:
    Optimizer = OPTIMIZERS.union()


# ---- schedules --------------------------------------------------------------------------------------

if TYPE_CHECKING:
    from ..schedules.base import Schedule
else:
    Schedule = SCHEDULES.union()  # the classes live in netspec.schedules (one module each)


# ---- metrics ----------------------------------------------------------------------------------------

# one class per metric in netspec.metrics; `f1_macro` is shorthand for {type: f1, average: macro}
if TYPE_CHECKING:
    from ..metrics.base import Metric as MetricItem
else:
    MetricItem = Annotated[METRICS.union("A metric by name (accuracy, f1_macro, ...) or {type: NAME, ...}, "
                                         "computed with torchmetrics and logged as `<split>.<name>`."),
                           BeforeValidator(metric_shorthand)]


# ---- regularization, transfer, early stopping, runtime ----------------------------------------------

class Penalty(StrictModel):
    """λ·Σ|w| (l1) or λ·Σw² (l2) added to the loss, over the selected parameters (separate from weight decay)."""
    weight: PositiveFloat = Field(description="λ.")
    params: Globs = Field(default_factory=lambda: ["*weight"], description="Globs over parameter names (weights only by default).")


class MaxNorm(StrictModel):
    """After each step, rescale each unit's incoming weight vector to norm ≤ max_norm."""
    max_norm: PositiveFloat = 3.0
    params: Globs = Field(default_factory=lambda: ["*weight"])


class Regularization(StrictModel):
    l1: Optional[Penalty] = None
    l2: Optional[Penalty] = None
    max_norm: Optional[MaxNorm] = None


class ClipNorm(StrictModel):
    """Rescale the gradient when its global norm exceeds max_norm."""
    type: Literal["norm"]
    max_norm: PositiveFloat = 1.0
    norm_type: PositiveFloat = 2.0


class ClipValue(StrictModel):
    """Clip each gradient component to [-clip_value, clip_value]."""
    type: Literal["value"]
    clip_value: PositiveFloat = 5.0


class ClipAgc(StrictModel):
    """Adaptive gradient clipping (Brock et al. 2021): unit-wise ‖g‖ ≤ clipping·max(‖w‖, eps)."""
    type: Literal["agc"]
    clipping: PositiveFloat = 0.01
    eps: PositiveFloat = 1e-3


if TYPE_CHECKING:
    GradClip = Union[ClipNorm, ClipValue, ClipAgc]
else:
    GradClip = tagged(Union[ClipNorm, ClipValue, ClipAgc])


class EarlyStopping(StrictModel):
    """Stop when `monitor` has not improved by min_delta for `patience` epochs; restore the best weights."""
    monitor: str = Field("val.loss", description="Any logged metric, e.g. val.loss or val.accuracy.")
    mode: Literal["auto", "min", "max"] = Field("auto", description="auto: max for accuracy-like metrics, min otherwise.")
    patience: int = Field(5, ge=1)
    min_delta: float = Field(0.0, ge=0)
    restore_best: bool = True


class Unfreeze(StrictModel):
    epoch: PositiveInt = Field(description="Unfreeze at the start of this epoch (1-based).")
    nodes: Globs = Field(min_length=1)


class Pretrained(StrictModel):
    """Load weights from a local netspec checkpoint or state-dict file (no downloads)."""
    path: str = Field(description="A checkpoint file or a run directory (its reported weights), relative to the spec file.")
    into: Optional[str] = Field(None, description="Load into this sub-graph (node-name prefix) only.")
    map: dict[str, str] = Field(default={}, description="Name-prefix renames, source -> destination.")
    model: Optional[str] = Field(None, description="Which model of a multi-model checkpoint to read.")
    strict: bool = Field(True, description="Every destination parameter must be found, with the same shape.")


class CheckpointSpec(StrictModel):
    every: Union[PositiveInt, Literal["auto"]] = Field(
        "auto", description="Write last.pt every this many epochs, or auto: after the first epoch, then whenever the "
                            "time since the last write is at least 50 times what it took (writing costs at most ~2 % "
                            "of training; every epoch in a distributed run), and always at the end.")
    best: bool = Field(True, description="Keep best.pt for the monitored metric (written with last.pt, just before it).")


_DEVICE = re.compile(r"(auto|cpu|mps|cuda(:\d+)?)")


#: the most epochs a run may ask for
MAX_EPOCHS = 1_000_000


def device_problem(value: str) -> Optional[str]:
    """Why ``value`` is not a device netspec runs on (auto, cpu, mps, cuda, cuda:N), or None."""
    return None if _DEVICE.fullmatch(value) else f"expected auto, cpu, mps, cuda or cuda:N, got {value!r}"


def _device(value: Any) -> Any:
    """A device string torch accepts, checked here so that `--device bogus` is a located error."""
    problem = device_problem(value) if isinstance(value, str) else None
    if problem:
        raise ValueError(problem)
    return value


class TrainSpec(StrictModel):
    """How to train the model(s)."""
    program: Program = Field(default_factory=lambda: Supervised(type="supervised"))
    task: Task = Field(default_factory=lambda: Classification(type="classification"))
    epochs: Annotated[int, Field(gt=0, le=MAX_EPOCHS)] = 10  # a bound, so that a slip (1e20) is an error, not a run forever
    batch_size: PositiveInt = 32
    eval_batch_size: Optional[PositiveInt] = Field(None, description="Default: 4 × batch_size.")
    loss: Annotated[Optional[list[Loss]], BeforeValidator(_as_list)] = Field(
        None, description="A loss or a list of losses bound to outputs and targets (default per task).")
    optimizer: Optional[Optimizer] = Field(None, description=default_description())
    optimizers: Optional[dict[str, Optimizer]] = Field(None, description="One optimizer per model (multi-model programs).")
    schedule: Optional[Schedule] = None
    metrics: Optional[list[MetricItem]] = Field(None, description="Default per task (accuracy, f1_macro / mse, rmse, mae, r2).")
    train_metrics: bool = Field(False, description="Also compute metrics on the train split (costs time every step).")
    accumulate: PositiveInt = Field(1, description="Gradient accumulation: optimizer step every this many batches.")
    grad_clip: Optional[GradClip] = None
    regularization: Regularization = Field(default_factory=Regularization)
    early_stopping: Optional[EarlyStopping] = None
    freeze: Globs = Field(default=[], description="Freeze parameters of nodes matching these globs.")
    unfreeze: list[Unfreeze] = Field(default=[])
    pretrained: Optional[Pretrained] = None
    device: Annotated[str, BeforeValidator(_device)] = Field(
        "auto", description="auto, cpu, mps, cuda or cuda:N; auto: CUDA, then MPS, then CPU.")
    precision: Literal["auto", "fp32", "bf16-mixed", "fp16-mixed"] = Field(
        "auto", description="auto: bf16-mixed on CUDA GPUs with bf16, fp16-mixed (with a grad scaler) on older ones, "
                            "fp32 elsewhere.")
    compile: Union[Literal["auto"], bool] = Field(
        "auto", description="torch.compile the model(s) and the forward+loss step; auto: on CUDA when a training "
                            "step needs at least 1e11 FLOPs (smaller steps do not repay compilation).")
    threads: Union[Literal["auto"], PositiveInt] = Field(
        "auto", description="CPU intra-op threads (torch.set_num_threads); auto keeps OMP_NUM_THREADS or an earlier "
                            "torch.set_num_threads, else on CPU uses 1 thread when a training step needs under 1e9 "
                            "FLOPs and otherwise the cores other processes leave free (1-minute load average).")
    performance: PerformanceSpec = Field(
        default_factory=PerformanceSpec, description="GPU fast-path switches (tf32, fused optimizers, channels_last, "
                                                     "attention kernel, vocabulary padding, static shapes).")
    seed: Seed = 0
    deterministic: bool = Field(False, description="torch.use_deterministic_algorithms (bit-exact reruns on one machine).")
    checkpoint: CheckpointSpec = Field(default_factory=CheckpointSpec)
    eval_every: PositiveInt = Field(
        1, description="Validate every this many epochs, and after the last; early stopping's patience, "
                       "reduce_on_plateau and best.pt see the validated epochs only.")
    nonfinite: Nonfinite = Field(default_factory=lambda: NonfiniteStop(type="stop"),
                                 description="NaN/Inf in a loss or gradient: stop (default) or skip the step.")
    log: LogSpec = Field(default_factory=LogSpec, description="Experiment tracking: {tensorboard: true} and/or {mlflow: true}.")
    distributed: Optional[DistributedSpec] = Field(
        None, description="Runs on several processes (netspec train --nproc-per-node N, torchrun, SLURM): ddp or fsdp.")

    @model_validator(mode="after")
    def _one_optimizer_form(self) -> "TrainSpec":
        if self.optimizer is not None and self.optimizers is not None:
            raise ValueError("give either `optimizer` or `optimizers` (one per model), not both")
        return self
