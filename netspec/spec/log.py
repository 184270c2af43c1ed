"""The ``train.log:`` section: experiment tracking next to the run directory's own files.

``tensorboard: true`` writes TensorBoard event files under ``RUN_DIR/tensorboard`` (every logged
scalar per epoch, the learning rate, the model graph, and weight/gradient histograms on request);
``mlflow: true`` records an MLflow run (params, metrics per epoch, the run directory's files as
artefacts, the model). Both need an optional package (``pip install tensorboard`` / ``pip install mlflow``, or the
extras of the same names); the spec is validated without them.
"""

from typing import Optional, Union

from pydantic import Field

from .base import StrictModel


class TensorBoardLog(StrictModel):
    """TensorBoard event files under RUN_DIR/tensorboard."""
    histograms: bool = Field(False, description="Log weight and gradient histograms every epoch (gradients of each epoch's first batch).")
    graph: bool = Field(True, description="Log the model graph (traced once with a zero input).")


class MlflowLog(StrictModel):
    """An MLflow run: params (the flattened spec), metrics per epoch, artefacts and the model."""
    tracking_uri: Optional[str] = Field(
        None, description="Where runs are stored: sqlite:///mlflow.db, a directory (file store), or a server URL "
                          "(default: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db in the working directory).")
    experiment: Optional[str] = Field(None, description="Experiment name (default: the spec's name).")
    run_name: Optional[str] = Field(None, description="Run name (default: the run directory's name).")
    log_model: bool = Field(True, description="Log the trained model (a PyTorch model artefact).")
    artifacts: bool = Field(True, description="Upload the run directory's files (spec, metrics, plots, report).")


class LogSpec(StrictModel):
    """Experiment tracking: TensorBoard event files and/or an MLflow run."""
    tensorboard: Union[bool, TensorBoardLog] = Field(
        False, description="true, or options: TensorBoard event files under RUN_DIR/tensorboard.")
    mlflow: Union[bool, MlflowLog] = Field(False, description="true, or options: record the run in MLflow.")

    def tensorboard_options(self) -> Optional[TensorBoardLog]:
        if self.tensorboard is True:
            return TensorBoardLog()
        return self.tensorboard or None

    def mlflow_options(self) -> Optional[MlflowLog]:
        if self.mlflow is True:
            return MlflowLog()
        return self.mlflow or None
