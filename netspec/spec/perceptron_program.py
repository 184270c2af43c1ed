"""The ``perceptron`` program (``train.program``): Rosenblatt's learning rule for one affine unit.
Plain pydantic, no torch; the rules ``netspec validate`` checks are in
``netspec.spec.perceptron_checks``, the rule itself in ``netspec.train.programs.perceptron``.

Online, one sample at a time in the order the loop draws them, with labels y:

* one unit ending in a step (binary, y in {0, 1}): ŷ = step(w·x + b);
  w ← w + lr·(y − ŷ)·x, b ← b + lr·(y − ŷ);
* C units without an activation (multiclass, y a class index): ŷ = argmax(W·x + b); on a
  mistake w_y ← w_y + lr·x and w_ŷ ← w_ŷ − lr·x (and the biases by ± lr).

No gradient is computed and no optimizer steps: the step has no gradient.
"""

from typing import Literal

from pydantic import Field

from .base import PositiveFloat, StrictModel


class PerceptronProgram(StrictModel):
    """Rosenblatt's perceptron rule, online: a mistake moves the unit's weights by ± lr · x (no gradient)."""
    type: Literal["perceptron"]
    lr: PositiveFloat = Field(1.0, description="Step size of the rule: a mistake adds ± lr · x to the weights and ± lr "
                                               "to the bias.")
