"""The ``train:`` section: program, task, losses, optimizer(s), schedule, metrics, regularization,
runtime. Plain pydantic, no torch; every choice is a ``type:``-tagged union that also accepts the
bare name (``optimizer: adam``).

A *program* says what one step does; ``supervised`` (the default) covers the tasks
classification (binary/multiclass/multilabel), regression, reconstruction and language_model.
Multi-model programs name one optimizer per model in ``optimizers: {model_name: ...}``.
Defaults follow the course (adam 1e-3, batch 32, early stopping on val.loss).
"""

from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BeforeValidator, Field, model_validator

from ..metrics import METRICS, metric_shorthand
from .data import Pair
from .distributed import DistributedSpec
from .log import LogSpec
from .reliability import Nonfinite, NonfiniteStop
from .performance import PerformanceSpec
from .base import NonNegInt, PositiveFloat, PositiveInt, Probability, StrictModel, tagged
from .prediction_programs import LanguageModelProgram, SegmentationProgram, Seq2SeqProgram
from .generative_programs import AutoencoderProgram, ContrastiveProgram, GanProgram, VaeProgram
from .perceptron_program import PerceptronProgram

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


Task = tagged(Union[Classification, Regression, Reconstruction, LanguageModel], "What the model learns to predict.")


class Supervised(StrictModel):
    """One model, one optimizer: forward, loss(es) against targets, backward, step."""
    type: Literal["supervised"]


Program = tagged(Union[Supervised, LanguageModelProgram, Seq2SeqProgram, SegmentationProgram, AutoencoderProgram,
                       VaeProgram, GanProgram, ContrastiveProgram, PerceptronProgram], "What one training step does.")


# ---- losses -------------------------------------------------------------------------------------

class _Loss(StrictModel):
    output: Union[str, list[str], None] = Field(None, description="Model output(s) the loss reads (default: the only one).")
    target: Optional[str] = Field(None, description="Data field with the target (default: task's: `target`, the input, `next`).")
    weight: float = Field(1.0, ge=0, description="Weight of this loss in the total.")


class Mse(_Loss):
    type: Literal["mse"]


class Mae(_Loss):
    type: Literal["mae"]


class Huber(_Loss):
    type: Literal["huber"]
    delta: PositiveFloat = 1.0


class SmoothL1(_Loss):
    type: Literal["smooth_l1"]
    beta: PositiveFloat = 1.0


class Bce(_Loss):
    """Binary cross-entropy on probabilities (the model ends in a sigmoid)."""
    type: Literal["bce"]


class BceWithLogits(_Loss):
    type: Literal["bce_with_logits"]
    pos_weight: Union[PositiveFloat, list[PositiveFloat], None] = None


class CrossEntropy(_Loss):
    """Softmax cross-entropy on logits; class-index or probability targets."""
    type: Literal["cross_entropy"]
    label_smoothing: Probability = 0.0
    ignore_index: int = -100
    class_weights: Union[Literal["auto"], list[PositiveFloat], None] = Field(
        None, description="Per-class weights (default: data.class_weights).")


class Nll(_Loss):
    """Negative log-likelihood on log-probabilities (the model ends in log_softmax)."""
    type: Literal["nll"]
    ignore_index: int = -100
    class_weights: Union[Literal["auto"], list[PositiveFloat], None] = None


class Focal(_Loss):
    """Focal loss (Lin et al. 2017): −α(1−p_t)^γ log p_t, softmax for several classes, sigmoid for one logit."""
    type: Literal["focal"]
    gamma: float = Field(2.0, ge=0)
    alpha: Optional[float] = Field(None, ge=0, le=1, description="Weight of the positive class (sigmoid) / all classes.")


class KlDiv(_Loss):
    """KL divergence; the output holds log-probabilities, the target probabilities."""
    type: Literal["kl_div"]
    log_target: bool = False


class Hinge(_Loss):
    """Multi-class margin loss (nn.MultiMarginLoss) on scores."""
    type: Literal["hinge"]
    margin: PositiveFloat = 1.0
    p: Literal[1, 2] = 1


class Margin(_Loss):
    """Hinge embedding loss (nn.HingeEmbeddingLoss): targets ±1."""
    type: Literal["margin"]
    margin: PositiveFloat = 1.0


class CosineEmbedding(_Loss):
    """Two outputs x1, x2 and targets ±1 (similar / dissimilar)."""
    type: Literal["cosine_embedding"]
    margin: float = Field(0.0, ge=-1, le=1)


class Triplet(_Loss):
    """Three outputs: anchor, positive, negative (nn.TripletMarginLoss)."""
    type: Literal["triplet"]
    margin: PositiveFloat = 1.0
    p: PositiveFloat = 2.0


class Contrastive(_Loss):
    """Two embeddings and a 1 (similar) / 0 (dissimilar) target: y·d² + (1−y)·max(0, margin − d)²."""
    type: Literal["contrastive"]
    margin: PositiveFloat = 1.0


class Dice(_Loss):
    """Soft Dice loss (segmentation): 1 − mean over classes of (2·Σ p·g + smooth) / (Σ p + Σ g + smooth), p the
    softmax probabilities, g the one-hot mask."""
    type: Literal["dice"]
    smooth: float = Field(1.0, ge=0, description="Added to numerator and denominator (keeps absent classes finite).")
    include_background: bool = Field(True, description="Average class 0 too.")
    ignore_index: int = Field(-100, description="Pixels with this label count for no class.")


Loss = tagged(Union[Mse, Mae, Huber, SmoothL1, Bce, BceWithLogits, CrossEntropy, Nll, Focal, KlDiv, Hinge, Margin,
                    CosineEmbedding, Triplet, Contrastive, Dice])
LOSSES_ON_PAIRS = ("cosine_embedding", "triplet", "contrastive")


def _as_list(value: Any) -> Any:
    return value if isinstance(value, list) or value is None else [value]


# ---- optimizers -----------------------------------------------------------------------------------

class ParamGroup(StrictModel):
    """Parameters chosen by node-name globs (``backbone.*``), with their own lr / weight decay."""
    params: Globs = Field(min_length=1, description="Globs over parameter names (node name + '.weight'/'.bias').")
    lr: Optional[PositiveFloat] = None
    weight_decay: Optional[float] = Field(None, ge=0)


class _Optimizer(StrictModel):
    lr: PositiveFloat = 1e-3
    weight_decay: float = Field(0.0, ge=0)
    groups: list[ParamGroup] = Field(default=[], description="Parameter groups; the first match wins.")
    no_decay: list[Literal["bias", "norm"]] = Field(
        default=[], description="Exempt biases and/or normalization parameters from weight decay.")


class Sgd(_Optimizer):
    type: Literal["sgd"]
    lr: PositiveFloat = 0.01
    momentum: float = Field(0.0, ge=0, lt=1)
    dampening: float = Field(0.0, ge=0)
    nesterov: bool = False

    @model_validator(mode="after")
    def _nesterov(self) -> "Sgd":
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError("nesterov needs momentum > 0 and dampening 0")
        return self


class Adagrad(_Optimizer):
    type: Literal["adagrad"]
    lr: PositiveFloat = 0.01
    lr_decay: float = Field(0.0, ge=0)
    eps: PositiveFloat = 1e-10


class Adadelta(_Optimizer):
    type: Literal["adadelta"]
    lr: PositiveFloat = 1.0
    rho: Probability = 0.9
    eps: PositiveFloat = 1e-6


class RmsProp(_Optimizer):
    """alpha is the decay of the squared-gradient average; 0.99 as in PyTorch (Keras uses 0.9)."""
    type: Literal["rmsprop"]
    lr: PositiveFloat = 0.01
    alpha: Probability = 0.99
    eps: PositiveFloat = 1e-8
    momentum: float = Field(0.0, ge=0, lt=1)
    centered: bool = False


class _AdamLike(_Optimizer):
    betas: Pair[Probability] = [0.9, 0.999]
    eps: PositiveFloat = 1e-8


class Adam(_AdamLike):
    type: Literal["adam"]
    amsgrad: bool = False


class AdamW(_AdamLike):
    type: Literal["adamw"]
    weight_decay: float = Field(0.01, ge=0)
    amsgrad: bool = False


class NAdam(_AdamLike):
    type: Literal["nadam"]
    momentum_decay: float = Field(0.004, ge=0)


class RAdam(_AdamLike):
    type: Literal["radam"]


Optimizer = tagged(Union[Sgd, Adagrad, Adadelta, RmsProp, Adam, AdamW, NAdam, RAdam])


# ---- schedules --------------------------------------------------------------------------------------

class _Schedule(StrictModel):
    warmup_epochs: NonNegInt = Field(0, description="Linear warm-up over this many epochs (in steps) first.")
    warmup_steps: NonNegInt = Field(0, description="Linear warm-up over this many optimizer steps first.")
    warmup_start: Probability = Field(0.0, description="Warm-up starts at this fraction of the lr.")
    interval: Optional[Literal["epoch", "step"]] = Field(None, description="When the schedule advances (default per type).")


class Constant(_Schedule):
    type: Literal["constant"]


class Step(_Schedule):
    type: Literal["step"]
    step_size: PositiveInt = 10
    gamma: PositiveFloat = 0.1


class MultiStep(_Schedule):
    type: Literal["multistep"]
    milestones: list[PositiveInt] = Field(min_length=1)
    gamma: PositiveFloat = 0.1


class Exponential(_Schedule):
    type: Literal["exponential"]
    gamma: PositiveFloat = 0.95


class Cosine(_Schedule):
    type: Literal["cosine"]
    t_max: Optional[PositiveInt] = Field(None, description="Length in intervals (default: the rest of training).")
    eta_min: float = Field(0.0, ge=0)


class CosineWarmRestarts(_Schedule):
    type: Literal["cosine_warm_restarts"]
    t_0: PositiveInt = 10
    t_mult: PositiveInt = 1
    eta_min: float = Field(0.0, ge=0)


class OneCycle(_Schedule):
    type: Literal["one_cycle"]
    max_lr: Optional[PositiveFloat] = Field(None, description="Default: the optimizer's lr.")
    pct_start: Probability = 0.3
    anneal_strategy: Literal["cos", "linear"] = "cos"
    div_factor: PositiveFloat = 25.0
    final_div_factor: PositiveFloat = 1e4


class Cyclic(_Schedule):
    type: Literal["cyclic"]
    base_lr: PositiveFloat = 1e-4
    max_lr: Optional[PositiveFloat] = Field(None, description="Default: the optimizer's lr.")
    step_size_up: PositiveInt = 200
    mode: Literal["triangular", "triangular2", "exp_range"] = "triangular"
    gamma: PositiveFloat = 1.0


class ReduceOnPlateau(_Schedule):
    type: Literal["reduce_on_plateau"]
    monitor: str = "val.loss"
    mode: Literal["auto", "min", "max"] = "auto"
    factor: Probability = 0.1
    patience: NonNegInt = 10
    threshold: float = Field(1e-4, ge=0)
    min_lr: float = Field(0.0, ge=0)


Schedule = tagged(Union[Constant, Step, MultiStep, Exponential, Cosine, CosineWarmRestarts, OneCycle, Cyclic,
                        ReduceOnPlateau])


# ---- metrics ----------------------------------------------------------------------------------------

# one class per metric in netspec.metrics; `f1_macro` is shorthand for {type: f1, average: macro}
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
    every: PositiveInt = Field(1, description="Write last.pt every this many epochs (and at the end).")
    best: bool = Field(True, description="Keep best.pt for the monitored metric.")


class TrainSpec(StrictModel):
    """How to train the model(s)."""
    program: Program = Field(default_factory=lambda: Supervised(type="supervised"))
    task: Task = Field(default_factory=lambda: Classification(type="classification"))
    epochs: PositiveInt = 10
    batch_size: PositiveInt = 32
    eval_batch_size: Optional[PositiveInt] = Field(None, description="Default: 4 × batch_size.")
    loss: Annotated[Optional[list[Loss]], BeforeValidator(_as_list)] = Field(
        None, description="A loss or a list of losses bound to outputs and targets (default per task).")
    optimizer: Optional[Optimizer] = Field(None, description="Default: adam, lr 1e-3.")
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
    device: str = Field("auto", pattern=r"^(auto|cpu|mps|cuda(:\d+)?)$", description="auto: CUDA, then MPS, then CPU.")
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
    seed: int = 0
    deterministic: bool = Field(False, description="torch.use_deterministic_algorithms (bit-exact reruns on one machine).")
    checkpoint: CheckpointSpec = Field(default_factory=CheckpointSpec)
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
