"""``train.nonfinite``: what a run does when a loss or a gradient turns NaN or infinite, and
``data.bad_samples``: what data preparation does with rows it cannot use.

``stop`` (the default) stops at the first optimizer step whose loss is not finite, before that
update reaches the weights: the diagnostic names the epoch, the step, the loss term and (found by
re-running the batch with forward hooks) the first node whose output is not finite, and the last
good checkpoint stays as it was. ``gradients: true`` also checks the gradients before every update
(a finite loss can still have NaN/Inf gradients: a square root at 0, an overflow in a backward
pass). It is off by default because it costs one pass over every gradient per step -- about 5% of
a digits-MLP step on one CPU core (bench/train_vs_torch.py), under 1% of a conv net's; without it
such an update makes the weights non-finite, the next step's loss shows it, and the diagnostic
names the parameters that turned non-finite and the step that did it. ``skip`` drops the step instead (its gradients are discarded and
the optimizer, the schedule and the step counter do not move), logs how many steps each epoch
skipped (``nonfinite_skipped`` in metrics.jsonl), and stops like ``stop`` once more than
``max_skips`` steps of the run were skipped.

In a distributed run the verdict is summed over the ranks (one tiny all-reduce per step), so every
rank stops -- or skips -- the same step: a rank whose own loss was finite says the problem was
another rank's, and FSDP's shards, step counters and schedules stay in step.

Each check waits for the device once per optimizer step (a GPU run pays a host sync);
``stop`` with ``every: N`` checks every N steps instead: the device records the first bad step,
so the diagnostic still names it, but the weights have moved on by the time it is seen.

``data.bad_samples: error`` (the default) stops at the first unusable sample with an error that
names the file and the row (CSV line, array index, JSON line, image file); ``skip`` leaves such
samples out and counts them. Labels out of range are always errors: they mean the model's output
width and the data disagree, which dropping rows would hide.
"""

from typing import Literal, Union

from pydantic import Field

from .base import PositiveInt, StrictModel, tagged


class NonfiniteStop(StrictModel):
    """Stop the run at the first non-finite loss or gradient (the last good checkpoint stays)."""
    type: Literal["stop"]
    every: PositiveInt = Field(1, description="Check every this many optimizer steps (1: before every update).")
    gradients: bool = Field(False, description="Also check every gradient before the update (one pass over them "
                                               "per step; without it a bad gradient shows in the next step's loss).")


class NonfiniteSkip(StrictModel):
    """Skip optimizer steps with a non-finite loss or gradient (both are always checked: a skip must
    come before the update); stop after max_skips of them."""
    type: Literal["skip"]
    max_skips: PositiveInt = Field(100, description="Stop the run when more steps than this were skipped.")


Nonfinite = tagged(Union[NonfiniteStop, NonfiniteSkip],
                   "What to do when a loss or gradient is NaN or infinite: stop (default) or skip the step.")


# ---- data.bad_samples ---------------------------------------------------------------------------

class BadSamplesError(StrictModel):
    """Stop at the first bad sample, with an error naming the file and the row (the default)."""
    type: Literal["error"]


class BadSamplesSkip(StrictModel):
    """Leave bad samples out — NaN/Inf or non-numeric values, ragged CSV rows, unreadable images,
    malformed JSON lines — counted per file and reason in the run's log (run_info.json and the
    progress output); still an error when more than ``max_fraction`` of a file's samples are bad."""
    type: Literal["skip"]
    max_fraction: float = Field(0.1, ge=0, le=1, description="The largest share of a file's samples that may be left out.")


BadSamples = tagged(Union[BadSamplesError, BadSamplesSkip],
                    "Rows that cannot be used: error (default; names the file and row) or skip (count them).")
