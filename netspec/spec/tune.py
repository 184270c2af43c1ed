"""The ``tune:`` section: a hyperparameter search over any spec path, run by ``netspec tune`` (Optuna).

Plain pydantic, no torch, no optuna: ``netspec validate`` checks the section (the rules that need
the rest of the spec are in ``netspec.checks.tune``). A search space maps spec paths, written as
for ``--set``, to distributions; every other choice is a ``type:``-tagged union that also accepts
the bare name::

    tune:
      objective: {metric: val.accuracy}            # direction auto: maximize for accuracy-like metrics
      sampler: tpe                                 # tpe | random | grid
      pruner: median                               # median | successive_halving | none
      trials: 20
      epochs: 10                                   # epochs per trial (default: train.epochs)
      space:
        train.optimizer.lr: {type: log_uniform, low: 1.0e-4, high: 1.0e-2}
        model.layers[0].linear.out_features: {type: int, low: 64, high: 512, step: 64}
        train.optimizer.type: {type: choice, values: [adam, sgd]}
        train.optimizer.momentum: {type: uniform, low: 0.0, high: 0.95, when: {train.optimizer.type: sgd}}
"""

from typing import TYPE_CHECKING, Any, Literal, Optional, Union

from pydantic import Field, model_validator

from .base import NonNegInt, PositiveFloat, PositiveInt, Seed, StrictModel, tagged

_WHEN = ("Only sample this parameter when earlier parameters took these values: {path: value} or "
         "{path: [value, ...]} (one of).")


class Choice(StrictModel):
    """One of the listed values (numbers, names, or whole mappings such as an optimizer)."""
    type: Literal["choice"]
    values: list[Any] = Field(min_length=1, description="The candidates, tried as written.")
    when: dict[str, Any] = Field(default={}, description=_WHEN)


class IntRange(StrictModel):
    """An integer in [low, high] (both included), on a grid of `step`."""
    type: Literal["int"]
    low: int
    high: int
    step: PositiveInt = 1
    log: bool = Field(False, description="Sample on a log scale (step must be 1).")
    when: dict[str, Any] = Field(default={}, description=_WHEN)

    @model_validator(mode="after")
    def _range(self) -> "IntRange":
        if self.low > self.high:
            raise ValueError(f"low ({self.low}) must not exceed high ({self.high})")
        if self.log and (self.step != 1 or self.low < 1):
            raise ValueError("log: true needs step 1 and low >= 1")
        return self


class Uniform(StrictModel):
    """A real number drawn uniformly from [low, high]."""
    type: Literal["uniform"]
    low: float
    high: float
    step: Optional[PositiveFloat] = Field(None, description="Only multiples of step above low.")
    grid_points: int = Field(5, ge=2, description="Evenly spaced values the grid sampler tries.")
    when: dict[str, Any] = Field(default={}, description=_WHEN)

    @model_validator(mode="after")
    def _range(self) -> "Uniform":
        if self.low > self.high:
            raise ValueError(f"low ({self.low:g}) must not exceed high ({self.high:g})")
        return self


class LogUniform(StrictModel):
    """A positive real number drawn uniformly on a log scale (learning rates, penalties)."""
    type: Literal["log_uniform"]
    low: PositiveFloat
    high: PositiveFloat
    grid_points: int = Field(5, ge=2, description="Log-spaced values the grid sampler tries.")
    when: dict[str, Any] = Field(default={}, description=_WHEN)

    @model_validator(mode="after")
    def _range(self) -> "LogUniform":
        if self.low > self.high:
            raise ValueError(f"low ({self.low:g}) must not exceed high ({self.high:g})")
        return self


if TYPE_CHECKING:  # the union itself, for the type checker; pydantic gets the tagged (discriminated) form
    Param = Union[Choice, IntRange, Uniform, LogUniform]
else:
    Param = tagged(Union[Choice, IntRange, Uniform, LogUniform], "A distribution over one spec value.")


class Objective(StrictModel):
    """What a trial scores: a logged metric of its final weights (the best epoch's, when early
    stopping restores the best)."""
    metric: Optional[str] = Field(None, description="A logged metric such as val.accuracy (default: the monitored one).")
    direction: Literal["auto", "maximize", "minimize"] = Field(
        "auto", description="auto: maximize accuracy-like metrics, minimize losses and errors.")


class Tpe(StrictModel):
    """Tree-structured Parzen estimator: random for the first trials, then model-guided."""
    type: Literal["tpe"]
    seed: Seed = 0
    n_startup_trials: NonNegInt = Field(10, description="Random trials before the model takes over.")
    multivariate: bool = Field(False, description="Model the parameters jointly.")


class RandomSearch(StrictModel):
    """Independent random draws."""
    type: Literal["random"]
    seed: Seed = 0


class GridSearch(StrictModel):
    """Every combination: choices, integer ranges by step, real ranges at grid_points values."""
    type: Literal["grid"]
    seed: Seed = Field(0, description="The order in which the grid is visited.")


if TYPE_CHECKING:
    Sampler = Union[Tpe, RandomSearch, GridSearch]
else:
    Sampler = tagged(Union[Tpe, RandomSearch, GridSearch], "How the next trial's values are chosen.")


class NoPruning(StrictModel):
    type: Literal["none"]


class Median(StrictModel):
    """Stop a trial whose metric at an epoch is worse than the median of earlier trials at that epoch."""
    type: Literal["median"]
    n_startup_trials: NonNegInt = Field(5, description="Trials that always run to the end first.")
    n_warmup_steps: NonNegInt = Field(1, description="Epochs of every trial that are never pruned.")
    interval_steps: PositiveInt = 1


class SuccessiveHalving(StrictModel):
    """Asynchronous successive halving: keep the best 1/reduction_factor at each rung of epochs."""
    type: Literal["successive_halving"]
    min_resource: Union[Literal["auto"], PositiveInt] = Field("auto", description="Epochs before the first rung.")
    reduction_factor: int = Field(4, ge=2)
    min_early_stopping_rate: NonNegInt = 0


if TYPE_CHECKING:
    Pruner = Union[NoPruning, Median, SuccessiveHalving]
else:
    Pruner = tagged(Union[NoPruning, Median, SuccessiveHalving], "When a trial stops early (fed every epoch's metric).")


class Holdout(StrictModel):
    """Score each trial on the spec's own validation split."""
    type: Literal["holdout"]


class CrossValidation(StrictModel):
    """k-fold cross-validation (small data): each trial trains k models, the score is their mean."""
    type: Literal["kfold"]
    k: int = Field(5, ge=2)
    stratify: bool = True
    seed: Optional[Seed] = Field(None, description="Fold assignment seed (default: data.split.seed).")


if TYPE_CHECKING:
    Evaluation = Union[Holdout, CrossValidation]
else:
    Evaluation = tagged(Union[Holdout, CrossValidation], "How a trial is scored.")


class TuneSpec(StrictModel):
    """A hyperparameter search (``netspec tune``)."""
    space: dict[str, Param] = Field(min_length=1, description="Spec path (as for --set) -> distribution.")
    objective: Objective = Field(default_factory=Objective)
    sampler: Sampler = Field(default_factory=lambda: Tpe(type="tpe"))
    pruner: Pruner = Field(default_factory=lambda: Median(type="median"))
    evaluation: Evaluation = Field(default_factory=lambda: Holdout(type="holdout"))
    trials: PositiveInt = Field(20, description="Finished trials the study should reach (--trials overrides).")
    timeout_s: Optional[PositiveFloat] = Field(None, description="Stop starting trials after this many seconds.")
    epochs: Optional[PositiveInt] = Field(None, le=1_000_000, description="Epochs per trial (default: train.epochs).")
    include_baseline: bool = Field(
        True, description="The first trial uses the spec's own values (where they lie in the space), so the "
                          "best found is never worse than the spec as written.")
    study_name: Optional[str] = Field(None, description="Name of the study in its storage (default: the spec's name).")
