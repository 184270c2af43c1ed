"""What a run leaves for people to look at: SVG plots and a self-contained report.html.

* ``runlog``   reads a run directory (metrics.jsonl, spec.yaml, run_info.json, confusion_matrix.json)
* ``plots``    the run's charts as SVG (``svg``; ``figures``: matplotlib for compare)
* ``html``     report.html: spec, summary table, plots embedded as base64, metrics, timing, environment
* ``compare``  several runs on shared axes
* ``outputs``  the hook ``train_spec`` calls around ``fit``: trackers, then the artefacts

``write_report(run_dir)`` rebuilds the plots and report.html from the files of a run directory
(``netspec report RUN_DIR``); training writes them at the end of every run.
"""

from .runlog import RunLog, read_run

__all__ = ["RunLog", "read_run", "write_report"]


def write_report(run_dir):
    """Rebuild ``plots/*.svg`` and ``report.html`` of a run directory; returns the report's path."""
    from .html import write_html
    from .plots import write_plots

    run = read_run(run_dir)
    plots = write_plots(run)
    return write_html(run, plots)
