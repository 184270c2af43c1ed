"""Hyperparameter search on Optuna: ``netspec tune SPEC`` driven by the spec's ``tune:`` section.

* ``space``     the search space: Optuna suggestions per spec path, ``--set`` overrides, the baseline
* ``objective`` one trial: train with the trial's values, report each epoch's metric to the pruner
* ``crossval``  k-fold cross-validation of one configuration (an evaluation mode for small data)
* ``study``     samplers, pruners, storage, resuming a killed study, several workers on one study
* ``results``   the best spec as a complete YAML, the trials as rows, plots of the search
* ``api``       ``tune_spec``: the whole search as one library call (``netspec tune`` prints it)

What ``netspec validate`` checks in ``tune:`` is ``netspec.checks.tune`` (below ``netspec.check``).

Optuna is optional (``pip install optuna``, or the ``tune`` extra); only ``objective`` and ``study``
import it, when a search runs.
"""
