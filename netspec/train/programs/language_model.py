"""The language_model program: next-token training on a token stream.

One step is the supervised step with the ``language_model`` task (the plan sets it): (N, L, V)
logits against the ``next`` field (the tokens shifted by one), cross-entropy over every position,
perplexity and accuracy as metrics. ``netspec generate`` decodes from the trained model
(``netspec.generate.text``). ``unigram_perplexity`` is the baseline a model has to beat: the
perplexity of predicting every token from its frequency in the train split alone.
"""

from __future__ import annotations

import math

import numpy as np

from .supervised import Supervised


class LanguageModel(Supervised):
    """The supervised step; the program adds the task, its checks and the generation settings."""

    name = "language_model"


def unigram_perplexity(train_targets: np.ndarray, eval_targets: np.ndarray, ignore_index: int = -100) -> float:
    """exp of the mean negative log-likelihood of ``eval_targets`` under the token frequencies of
    ``train_targets`` (add-one smoothed over the ids up to the largest one seen in either)."""
    train = train_targets[train_targets != ignore_index].ravel()
    evals = eval_targets[eval_targets != ignore_index].ravel()
    size = int(max(train.max(initial=0), evals.max(initial=0))) + 1
    probs = (np.bincount(train, minlength=size) + 1.0) / (len(train) + size)
    return float(math.exp(-np.log(probs[evals]).mean()))
