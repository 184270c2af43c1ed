"""Start a distributed run on this node with PyTorch's elastic agent (what ``torchrun`` runs).

``launch(plan, argv)`` starts ``plan.nproc_per_node`` workers, each ``python -m netspec ARGV``
with RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT set (the worker's ``netspec train``
sees them and trains as that rank). One node: a private rendezvous on a free local port. Several
nodes: run the same command on every node, with ``--nnodes M --rdzv-endpoint HOST:PORT`` and
either ``--node-rank R`` (a fixed rank per node: static rendezvous, HOST is node 0) or a shared
``--rdzv-id`` (the c10d rendezvous assigns node ranks).

When a worker fails or dies, the agent stops all the others (SIGTERM, then SIGKILL after its
shutdown timeout) and ``launch`` raises ``LaunchFailed`` naming each failed rank and how it ended;
SIGINT/SIGTERM to the launcher stop every worker and raise ``LaunchInterrupted``.
"""

from __future__ import annotations

import os
import sys
import uuid
from dataclasses import dataclass
from typing import Optional

from ...errors import TrainError


class LaunchFailed(TrainError):
    """One or more workers of a distributed run failed; all of them were stopped."""


class LaunchInterrupted(TrainError):
    """The launcher was interrupted (Ctrl-C, SIGTERM); all workers were stopped."""


@dataclass
class LaunchPlan:
    nproc_per_node: int
    nnodes: int = 1
    node_rank: Optional[int] = None
    rdzv_endpoint: Optional[str] = None
    rdzv_id: Optional[str] = None

    def check(self) -> Optional[str]:
        """A usage problem, or None."""
        if self.nproc_per_node < 1 or self.nnodes < 1:
            return "--nproc-per-node and --nnodes must be at least 1"
        if self.nnodes > 1 and not self.rdzv_endpoint:
            return "several nodes need --rdzv-endpoint HOST:PORT (the same on every node)"
        if self.node_rank is not None and not 0 <= self.node_rank < self.nnodes:
            return f"--node-rank must be in 0..{self.nnodes - 1}"
        if self.nproc_per_node > MAX_PROCS_PER_NODE:
            return (f"--nproc-per-node {self.nproc_per_node} is more than {MAX_PROCS_PER_NODE} processes; "
                    "use one per GPU, or a few per CPU core")
        if self.rdzv_endpoint is not None:
            return endpoint_problem(self.rdzv_endpoint)
        return None


MAX_PROCS_PER_NODE = 256


def endpoint_problem(endpoint: str) -> Optional[str]:
    """Why HOST:PORT (HOST a name, an IPv4 address or a bracketed IPv6 address) is not one, or None."""
    host, sep, port = endpoint.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port:
        return f"--rdzv-endpoint {endpoint!r} is not HOST:PORT (e.g. node0.cluster:29500)"
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        return f"--rdzv-endpoint {endpoint!r}: the port must be a number from 1 to 65535"
    if any(c.isspace() or c in "/@?#" for c in host):
        return f"--rdzv-endpoint {endpoint!r}: {host!r} is not a host name or address"
    return None


def _config(plan: LaunchPlan):
    from torch.distributed.launcher.api import LaunchConfig

    common = dict(min_nodes=plan.nnodes, max_nodes=plan.nnodes, nproc_per_node=plan.nproc_per_node, max_restarts=0,
                  monitor_interval=0.2, start_method="spawn", role="netspec")
    if plan.nnodes == 1 and not plan.rdzv_endpoint:
        return LaunchConfig(rdzv_backend="c10d", rdzv_endpoint="localhost:0", run_id=uuid.uuid4().hex, **common)
    if plan.node_rank is not None:
        return LaunchConfig(rdzv_backend="static", rdzv_endpoint=plan.rdzv_endpoint or "", run_id=plan.rdzv_id or "netspec",
                            rdzv_configs={"rank": plan.node_rank}, **common)
    return LaunchConfig(rdzv_backend="c10d", rdzv_endpoint=plan.rdzv_endpoint or "", run_id=plan.rdzv_id or "netspec",
                        **common)


def launch(plan: LaunchPlan, argv: list[str]) -> None:
    """Run ``netspec ARGV`` on ``nproc_per_node`` workers of this node; returns when all succeeded."""
    from torch.distributed.elastic.multiprocessing import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import elastic_launch

    if "OMP_NUM_THREADS" not in os.environ:  # the cores are shared by the workers (torchrun does the same)
        os.environ["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // plan.nproc_per_node))
    try:
        elastic_launch(_config(plan), sys.executable)("-m", "netspec", *argv)
    except ChildFailedError as exc:
        raise LaunchFailed(describe_failures(exc.failures), hint="each rank's own error is printed above it; all "
                                                                 "ranks were stopped") from None
    except SignalException as exc:
        raise LaunchInterrupted(f"interrupted by {exc.sigval.name}; all ranks were stopped") from None


def describe_failures(failures: dict) -> str:
    """'distributed training failed: rank 1 (pid 123) was killed by SIGKILL; ...'.

    Ranks killed by a signal come first (a peer that lost contact with them reports its own error, often
    with an earlier timestamp, but is the consequence), then the others in failure order.
    """
    parts = []
    for rank, f in sorted(failures.items(), key=lambda item: (item[1].exitcode >= 0, item[1].timestamp)):
        how = f"was killed by {f.signal_name()}" if f.exitcode < 0 else f"exited with code {f.exitcode}"
        parts.append(f"rank {rank} (local rank {f.local_rank}, pid {f.pid}) {how}")
    return "distributed training failed: " + "; ".join(parts)
