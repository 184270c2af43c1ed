"""Training: programs, the loop, optimizers, schedules, losses, metrics, checkpoints.

Entry points: ``api.train_spec`` (netspec train), ``api.evaluate_checkpoint`` (netspec
evaluate), ``predict.predict_file`` (netspec predict); checkpoints in ``checkpoint``
(``load_checkpoint``, ``rebuild_models``); the Program interface in ``programs``.
"""

