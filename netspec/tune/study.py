"""The Optuna study behind ``netspec tune``: sampler, pruner, storage, resuming, several workers.

``run_search(config, callbacks)`` opens (or, with ``resume``, reopens) the study and runs trials
until it has ``trials`` finished ones (complete or pruned; failed trials do not count), the
timeout passes, or a grid is exhausted. A study in a database (``sqlite:///study.db``) is shared:
a killed search resumes where it stopped, and several processes (``jobs``, or several
``netspec tune --resume`` commands) work on it at once without running a trial twice.

A trial left RUNNING by a process that no longer exists on this host (killed mid-trial) is
marked failed on resume and its values are queued again, so nothing is lost (also one killed in
the milliseconds before it was tagged with its host and process, once it is UNTAGGED_S old); trials of other
hosts are recovered by Optuna's heartbeat (a trial silent for ``GRACE_S`` seconds fails and is
retried the same way).
"""

from __future__ import annotations

import os
import socket
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Optional

from ..distribution import install_hint
from ..errors import TrainError
from ..programs.plan import monitor_mode
from .objective import Objective
from .space import baseline, grid

HEARTBEAT_S, GRACE_S = 10, 60
UNTAGGED_S = 2.0  # a RUNNING trial without host/pid this old was never started by a live process


@dataclass
class SearchConfig:
    """Everything a search (and each of its worker processes) needs; picklable."""
    spec_path: str
    overrides: list[str]
    tune: Any  # TuneSpec
    metric: str
    study_name: str
    storage: Optional[str] = None
    trials: int = 20
    timeout_s: Optional[float] = None
    jobs: int = 1
    resume: bool = False
    epochs: Optional[int] = None
    device: Optional[str] = None
    data: Optional[dict] = None  # the spec's loaded data (for the baseline trial)

    @property
    def direction(self) -> str:
        d = self.tune.objective.direction
        return d if d != "auto" else ("maximize" if monitor_mode(self.metric) == "max" else "minimize")


def require_optuna():
    try:
        import optuna
    except ImportError:
        raise TrainError("netspec tune needs the 'optuna' package, which is not installed", path=("tune",),
                         hint=install_hint("tune")) from None
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    return optuna


def make_sampler(config: SearchConfig):
    optuna = require_optuna()
    s = config.tune.sampler
    if s.type == "grid":
        return optuna.samplers.GridSampler(grid(config.tune.space), seed=s.seed)
    if s.type == "random":
        return optuna.samplers.RandomSampler(seed=s.seed)
    return optuna.samplers.TPESampler(seed=s.seed, n_startup_trials=s.n_startup_trials, multivariate=s.multivariate)


def make_pruner(config: SearchConfig):
    optuna = require_optuna()
    p = config.tune.pruner
    if p.type == "median":
        return optuna.pruners.MedianPruner(p.n_startup_trials, p.n_warmup_steps, p.interval_steps)
    if p.type == "successive_halving":
        return optuna.pruners.SuccessiveHalvingPruner(p.min_resource, p.reduction_factor, p.min_early_stopping_rate)
    return optuna.pruners.NopPruner()


def _retry_on_stale(optuna) -> dict:
    """RDBStorage's keyword retrying trials whose heartbeat went stale (a killed worker): Optuna 4.9 renamed
    failed_trial_callback / RetryFailedTrialCallback (deprecated since) to heartbeat_stale_trial_callback /
    RetryHeartbeatStaleTrialCallback; the older names serve Optuna 3.6 to 4.8."""
    new = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback", None)
    if new is not None:
        return {"heartbeat_stale_trial_callback": new(max_retry=2)}
    return {"failed_trial_callback": optuna.storages.RetryFailedTrialCallback(max_retry=2)}


def make_storage(url: Optional[str]):
    optuna = require_optuna()
    if url is None:
        return None
    if url.split(":", 1)[0].split("+", 1)[0] in ("sqlite", "postgresql", "mysql"):
        try:
            return optuna.storages.RDBStorage(url, heartbeat_interval=HEARTBEAT_S, grace_period=GRACE_S,
                                              **_retry_on_stale(optuna))
        except Exception as exc:  # SQLAlchemy's errors: a bad URL, a missing driver, a server that refuses
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise TrainError(f"cannot open the study database {url}: {first}",
                             hint="check the URL (e.g. sqlite:///study.db), the database server and its driver") from None
    return url  # e.g. a journal file storage URL Optuna understands


def open_study(config: SearchConfig, create: bool = True):
    optuna = require_optuna()
    storage = make_storage(config.storage)
    exists = config.storage is not None and config.study_name in optuna.get_all_study_names(storage)
    if exists and not config.resume and create:
        raise TrainError(f"the study {config.study_name!r} already exists in {config.storage}",
                         path=("tune", "study_name"), hint="pass --resume to continue it, or name another study")
    if not exists and config.resume and config.storage is not None and create:
        raise TrainError(f"--resume: there is no study {config.study_name!r} in {config.storage}",
                         hint="run without --resume to start it")
    study = optuna.create_study(storage=storage, sampler=make_sampler(config), pruner=make_pruner(config),
                                study_name=config.study_name, direction=config.direction, load_if_exists=True)
    if study.direction.name.lower() != config.direction:
        raise TrainError(f"the study {config.study_name!r} {study.direction.name.lower()}s its objective, but this "
                         f"search would {config.direction} {config.metric}", path=("tune", "objective"),
                         hint="resume with the same objective, or name another study")
    known = study.user_attrs.get("metric")
    if known is None:
        study.set_user_attr("metric", config.metric)
    elif known != config.metric:
        raise TrainError(f"the study {config.study_name!r} scores {known!r}, not {config.metric!r}",
                         path=("tune", "objective", "metric"), hint="resume with the same objective")
    return study


def finished(study) -> int:
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)))


def recover_stale(study) -> list[int]:
    """Fail the trials left RUNNING by dead processes of this host and queue their values again."""
    from optuna.trial import TrialState

    host, lost, now = socket.gethostname(), [], datetime.now()
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        pid = t.user_attrs.get("pid")
        if "host" not in t.user_attrs and "pid" not in t.user_attrs:
            # killed between Optuna creating the trial and the objective tagging it: a live process tags
            # its trial within milliseconds, so an untagged one older than UNTAGGED_S has no process
            started = t.datetime_start
            if started is None or (now - started).total_seconds() < UNTAGGED_S:
                continue
        elif t.user_attrs.get("host") != host or not isinstance(pid, int) or _alive(pid):
            continue
        study.tell(t.number, state=TrialState.FAIL)
        study.set_user_attr(f"lost_trial_{t.number}", "its process ended mid-trial; retried")
        if not isinstance(study.sampler, require_optuna().samplers.GridSampler):  # a grid revisits failed points itself
            study.enqueue_trial(t.params, user_attrs={"retry_of": t.number}, skip_if_exists=False)
        lost.append(t.number)
    return lost


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_search(config: SearchConfig, callbacks: tuple = ()) -> tuple[Any, list[int]]:
    """Run the search; returns (study, numbers of trials recovered from dead processes)."""
    study = open_study(config)
    lost = recover_stale(study) if config.storage is not None else []
    if config.tune.include_baseline and not study.trials and config.tune.sampler.type != "grid" and config.data:
        params = baseline(config.tune.space, config.data)
        if params:
            study.enqueue_trial(params, user_attrs={"baseline": True})
    workers = min(config.jobs, max(1, config.trials - finished(study)))  # no more processes than trials to run
    if workers > 1:
        _run_workers(config, callbacks, workers)
    else:
        _optimize(study, config, callbacks)
    return study, lost


def _optimize(study, config: SearchConfig, callbacks: tuple) -> None:
    from optuna.study import MaxTrialsCallback
    from optuna.trial import TrialState

    from ..errors import NetspecError

    remaining = config.trials - finished(study)
    if remaining <= 0:
        return
    stop = MaxTrialsCallback(config.trials, states=(TrialState.COMPLETE, TrialState.PRUNED))
    objective = Objective(config.spec_path, config.overrides, config.tune, config.metric, config.epochs, config.device)
    study.optimize(objective, n_trials=remaining, timeout=config.timeout_s, catch=(NetspecError,),
                   callbacks=[stop, *callbacks], gc_after_trial=True)  # free each trial's model and data


def _worker(config: SearchConfig, callbacks: tuple, threads: int) -> None:
    """One worker process of a multi-process search: the same study, loaded from its storage."""
    import torch

    optuna = require_optuna()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # progress comes through the callbacks
    torch.set_num_threads(threads)
    study = optuna.load_study(study_name=config.study_name, storage=make_storage(config.storage),
                              sampler=make_sampler(config), pruner=make_pruner(config))
    _optimize(study, config, callbacks)


def _run_workers(config: SearchConfig, callbacks: tuple, workers: int) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    threads = max(1, (os.cpu_count() or 1) // workers)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        for done in [pool.submit(_worker, config, callbacks, threads) for _ in range(workers)]:
            done.result()


def default_storage(out_dir: Path) -> str:
    """Where a multi-process search without --storage keeps its study: a SQLite file in its folder."""
    return f"sqlite:///{(out_dir / 'study.db').resolve()}"
