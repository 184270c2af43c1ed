"""An MLflow run through ``mlflow.MlflowClient`` (needs the ``mlflow`` extra); no global MLflow state.

* params: the spec's name, its ``data:`` and ``train:`` sections flattened to dotted keys
  (``train.optimizer.lr``), and the model's parameter and FLOP counts
* metrics: every number of every epoch's row under the same keys as metrics.jsonl, step = epoch
* artefacts: the run directory's files (spec.yaml, metrics.jsonl, run_info.json, plots, report.html;
  checkpoints are left out since the model is logged on its own) and, with ``log_model``, the trained
  model as an MLflow PyTorch model under ``model/`` (``mlflow.pytorch.load_model("runs:/ID/model")``)
* tags: netspec's version, the spec file, the run directory

The store is ``tracking_uri`` (a URI, or a directory for a file store), else $MLFLOW_TRACKING_URI,
else MLflow's default (``sqlite:///mlflow.db`` in the working directory).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any, Iterator

from .base import missing, scalar_items

MAX_PARAM = 6000  # MLflow's limit on a param value's length
SKIP_ARTIFACTS = (".pt", ".tmp")


def store_uri(value: str | None) -> str | None:
    """A tracking URI as given, or a plain directory path as a file-store URI."""
    if value is None or "://" in value or value.startswith(("sqlite:", "file:", "databricks")):
        return value
    return Path(value).resolve().as_uri()


def flatten(data: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(data, dict) and data:
        for k, v in data.items():
            yield from flatten(v, f"{prefix}.{k}" if prefix else str(k))
    elif prefix:
        text = json.dumps(data) if isinstance(data, (list, dict, bool)) or data is None else str(data)
        yield prefix, text[:MAX_PARAM]


class MlflowTracker:
    def __init__(self, session, run_dir: Path, options) -> None:
        try:
            import mlflow  # noqa: F401
            from mlflow import MlflowClient
        except ImportError:
            raise missing("mlflow", "mlflow", "mlflow") from None
        from ..distribution import version as netspec_version

        self.session, self.options, self.run_dir = session, options, run_dir
        self.client = MlflowClient(tracking_uri=store_uri(options.tracking_uri))
        name = options.experiment or session.spec.name or Path(session.checked.loaded.file).stem
        exp = self.client.get_experiment_by_name(name)
        exp_id = exp.experiment_id if exp is not None else self.client.create_experiment(name)
        tags = {"netspec.version": netspec_version(), "netspec.spec_file": str(session.checked.loaded.file),
                "netspec.run_dir": str(run_dir.resolve())}
        self.run = self.client.create_run(exp_id, run_name=options.run_name or run_dir.resolve().name, tags=tags)
        self.run_id = self.run.info.run_id
        self._log_params()

    def _log_params(self) -> None:
        from mlflow.entities import Param

        from ..render import canonical

        spec = canonical(self.session.checked)
        effective = {**{k: spec[k] for k in ("data",) if k in spec},
                     "train": self.session.train.model_dump(mode="json", exclude_none=True)}  # with --epochs/--device
        params = dict(flatten(effective))
        params["name"] = str(spec.get("name") or "")
        graphs = self.session.checked.graphs
        params["model.params"] = str(sum(g.params for g in graphs.values()))
        params["model.flops"] = str(sum(g.flops for g in graphs.values()))
        items = [Param(k[:250], v) for k, v in params.items()]
        for i in range(0, len(items), 100):  # MLflow takes at most 100 params per batch
            self.client.log_batch(self.run_id, params=items[i:i + 100])

    def start(self, total_epochs: int, batches_per_epoch: int, first_epoch: int) -> None:
        pass

    def batch(self, epoch: int, index: int, samples: int) -> None:
        pass

    def epoch(self, row: dict[str, Any]) -> None:
        import time

        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        step = int(row["epoch"])
        metrics = [Metric(k, v, now, step) for k, v in scalar_items(row)]
        self.client.log_batch(self.run_id, metrics=metrics)

    def finish(self, result, run_dir: Path) -> None:
        if self.options.artifacts:
            for path in sorted(run_dir.rglob("*")):
                if path.is_file() and path.suffix not in SKIP_ARTIFACTS:
                    rel = path.relative_to(run_dir).parent
                    self.client.log_artifact(self.run_id, str(path), None if str(rel) == "." else rel.as_posix())
        if self.options.log_model:
            self._log_model()
        self.client.set_terminated(self.run_id, "FINISHED")

    def _log_model(self) -> None:
        import inspect

        import mlflow.pytorch
        import torch

        model = next(iter(self.session.models.values()))
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model"
            kwargs = {"pip_requirements": [f"torch=={torch.__version__}"]}
            if "serialization_format" in inspect.signature(mlflow.pytorch.save_model).parameters:
                kwargs["serialization_format"] = "pickle"  # the whole module; pt2 needs torch.export to succeed
            mlflow.pytorch.save_model(model.to("cpu").eval(), str(path), **kwargs)
            model.to(self.session.device)
            self.client.log_artifacts(self.run_id, str(path), "model")

    def close(self, failed: bool = False) -> None:
        if failed:
            self.client.set_terminated(self.run_id, "FAILED")
