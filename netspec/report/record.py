"""What the trainer records for the report at the end of a run (needs the live session, so torch).

* ``confusion(session)``  the confusion matrix of the final (restored best) weights on the val split,
                          for binary and multiclass classification, with the class labels
* ``environment(session)`` versions, platform and the device the run used
* ``run_info(...)``       the result, timing, environment and model summary as one JSON-able dict
"""

from __future__ import annotations

import os
import platform
import sys
import time
from typing import Any, Optional


def confusion(session) -> Optional[dict[str, Any]]:
    """{split, labels, matrix} (rows: true class, columns: predicted) or None when it does not apply."""
    import torch

    from ..metrics import metric
    from ..train.metrics import MetricSet

    plan, program = session.plan, session.program
    output, target = getattr(program, "metric_output", None), getattr(program, "metric_target", None)
    loader = session.data.loaders.get("val")
    if plan.mode not in ("binary", "multiclass") or output is None or loader is None or loader.num_samples == 0:
        return None
    eval_metrics = getattr(program, "metrics", {}).get("eval")
    metrics = MetricSet([metric("confusion_matrix")], plan, session.device,
                        threshold=getattr(session.train.task, "threshold", 0.5),
                        probabilities=getattr(eval_metrics, "probabilities", False))
    for m in session.models.values():
        m.eval()
    with torch.no_grad():
        for batch in loader.epoch():
            metrics.update(program.outputs(batch)[output], batch[target])
    matrix = metrics.compute()["confusion_matrix"]
    return {"split": "val", "labels": class_labels(session, len(matrix)), "matrix": matrix}


def class_labels(session, k: int) -> list[str]:
    classes = None
    try:
        classes = session.data.preprocessor.state_dict().get("classes")
    except AttributeError:  # a data bundle without a preprocessor
        pass
    if classes and len(classes) == k:
        return [str(c) for c in classes]
    return [str(i) for i in range(k)]


def environment(session) -> dict[str, str]:
    import numpy
    import torch

    from ..distribution import version as netspec_version

    dev = session.device
    device = str(dev)
    if dev.type == "cuda":
        device += f" ({torch.cuda.get_device_name(dev)})"
    return {
        "netspec": netspec_version(), "python": platform.python_version(), "torch": str(torch.__version__),
        "numpy": numpy.__version__, "platform": platform.platform(), "processor": platform.machine(),
        "cpu_count": str(os.cpu_count()), "torch_threads": str(torch.get_num_threads()), "device": device,
        "precision": session.train.precision, "executable": sys.executable,
    }


def run_info(session, result, started: float) -> dict[str, Any]:
    from ..summary import summary

    final = {k: v for k, v in result.metrics.items() if k.startswith(("train.", "val.", "test."))}
    return {
        "name": session.spec.name or os.path.splitext(os.path.basename(session.checked.loaded.file))[0],
        "spec_file": session.checked.loaded.file,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(started)),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "overrides": list(session.checked.overrides),
        "result": {"epochs": result.epochs, "best_epoch": result.best_epoch, "stopped_epoch": result.stopped_epoch,
                   "train_time_s": result.train_time_s, "reported_epoch": result.reported_epoch,
                   "restored_best": result.restored_best,
                   "checkpoint": os.path.basename(result.checkpoint) if result.checkpoint else None, "metrics": final},
        "environment": environment(session),
        "summary": summary(session.checked.graphs),
        **({"data_skipped": session.data.skipped} if getattr(session.data, "skipped", None) else {}),  # bad_samples: skip
    }
