"""Distributed training without spawning processes: the launch environment, the launcher's plan and
failure report, each rank's share of the batches, the spec rules, and a one-process group run in
this process (the worker path end to end, compared with a plain run)."""

from __future__ import annotations

import socket
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from conftest import EXAMPLES, run_cli
from netspec.data.batches import DeviceBatches, StreamBatches
from netspec.errors import TrainError
from netspec.train.distributed.env import LaunchEnv, export_env, launch_env
from netspec.train.distributed.launch import LaunchPlan, describe_failures
from netspec.train.distributed.sharding import BatchShare, ShardedBatches, shard_loaders

# ---- the launch environment ----------------------------------------------------------------------

def test_torchrun_variables_make_a_rank():
    env = {"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2"}
    assert launch_env(env) == LaunchEnv(3, 4, 1, 2, "torchrun")
    assert launch_env({}) is None


def test_slurm_tasks_make_a_rank_and_export_torchrun_variables():
    env = {"SLURM_PROCID": "5", "SLURM_NTASKS": "8", "SLURM_LOCALID": "1", "SLURM_STEP_ID": "0",
           "SLURM_STEP_TASKS_PER_NODE": "4(x2)", "MASTER_ADDR": "node01"}
    launch = launch_env(env)
    assert launch == LaunchEnv(5, 8, 1, 4, "slurm")
    export_env(launch, env)
    assert (env["RANK"], env["WORLD_SIZE"], env["LOCAL_RANK"], env["MASTER_PORT"]) == ("5", "8", "1", "29500")


def test_slurm_single_task_or_batch_script_is_not_distributed():
    assert launch_env({"SLURM_PROCID": "0", "SLURM_NTASKS": "1", "SLURM_STEP_ID": "0"}) is None
    assert launch_env({"SLURM_PROCID": "0", "SLURM_NTASKS": "4"}) is None  # the batch script itself, not srun


def test_slurm_without_master_addr_says_how_to_set_it():
    launch = LaunchEnv(0, 2, 0, 2, "slurm")
    with pytest.raises(TrainError, match="MASTER_ADDR is not set") as err:
        export_env(launch, {})
    assert "scontrol show hostnames" in err.value.hint


def test_bad_rank_variable_is_a_user_error():
    with pytest.raises(TrainError, match="RANK='x' is not an integer"):
        launch_env({"RANK": "x", "WORLD_SIZE": "2"})


# ---- the launcher ---------------------------------------------------------------------------------

@pytest.mark.parametrize("plan, problem", [
    (LaunchPlan(2), None),
    (LaunchPlan(2, nnodes=2), "need --rdzv-endpoint"),
    (LaunchPlan(2, nnodes=2, node_rank=2, rdzv_endpoint="h:1"), "--node-rank must be in 0..1"),
    (LaunchPlan(2, nnodes=2, rdzv_endpoint="host"), "HOST:PORT"),
    (LaunchPlan(2, nnodes=2, node_rank=1, rdzv_endpoint="host:29500"), None),
])
def test_launch_plan_checks_its_options(plan, problem):
    got = plan.check()
    assert (got is None) if problem is None else (problem in got)


def test_failures_are_described_by_rank_in_order():
    f = lambda rank, code, ts: SimpleNamespace(local_rank=rank, pid=100 + rank, exitcode=code, timestamp=ts,  # noqa: E731
                                               signal_name=lambda: "SIGKILL" if code == -9 else "SIGTERM")
    text = describe_failures({0: f(0, -15, 2), 1: f(1, -9, 1), 2: f(0, 1, 3)})
    assert text == ("distributed training failed: rank 1 (local rank 1, pid 101) was killed by SIGKILL; "
                    "rank 0 (local rank 0, pid 100) was killed by SIGTERM; rank 2 (local rank 0, pid 100) exited with code 1")


def test_a_killed_rank_is_named_before_the_peer_that_lost_contact_with_it():
    # the peer's own error file can carry an earlier timestamp than the agent's record of the kill
    f = lambda rank, code, ts: SimpleNamespace(local_rank=rank, pid=100 + rank, exitcode=code, timestamp=ts,  # noqa: E731
                                               signal_name=lambda: "SIGKILL")
    text = describe_failures({0: f(0, 1, 1), 1: f(1, -9, 2)})
    assert text == ("distributed training failed: rank 1 (local rank 1, pid 101) was killed by SIGKILL; "
                    "rank 0 (local rank 0, pid 100) exited with code 1")


def test_launch_options_inside_a_launch_are_a_usage_error(tmp_path):
    proc = run_cli("train", str(EXAMPLES / "digits_mlp.yaml"), "--nproc-per-node", "2",
                   env={"RANK": "0", "WORLD_SIZE": "2"})
    assert proc.returncode == 2 and "already rank 0 of a torchrun launch" in proc.stderr


def test_launch_refuses_programs_that_cannot_run_distributed():
    proc = run_cli("train", str(EXAMPLES / "digits_gan.yaml"), "--nproc-per-node", "2")
    assert proc.returncode == 1
    assert "digits_gan.yaml:" in proc.stderr and "train.program: the gan program cannot run distributed" in proc.stderr


# ---- each rank's share ----------------------------------------------------------------------------

def _arrays(n: int) -> dict[str, np.ndarray]:
    return {"x": np.arange(n, dtype=np.float32)[:, None], "y": np.arange(n)}


@pytest.mark.parametrize("kind", [DeviceBatches, StreamBatches])
@pytest.mark.parametrize("n, batch, world", [(103, 16, 2), (97, 12, 4), (66, 32, 2), (65, 32, 2)])
def test_shards_are_disjoint_parts_of_the_single_process_batches(kind, n, batch, world):
    extra = {"num_workers": 0} if kind is StreamBatches else {}
    single = kind(_arrays(n), torch.device("cpu"), batch, mode="shuffle", **extra)
    expected = [b["y"].tolist() for b in single.epoch(torch.Generator().manual_seed(7))]
    shares = [BatchShare(world) for _ in range(world)]
    parts = []
    for r in range(world):
        base = kind(_arrays(n), torch.device("cpu"), batch, mode="shuffle", **extra)
        loader = ShardedBatches(base, r, world, shares[r])
        got = []
        for b in loader.epoch(torch.Generator().manual_seed(7)):
            got.append((b["y"].tolist(), shares[r].value))
        assert len(got) == len(loader)
        parts.append(got)
    merged = [sum((parts[r][i][0] for r in range(world)), []) for i in range(len(parts[0]))]
    if n % batch and n % batch < world:  # the short tail joins the window before it
        expected[-2:] = [expected[-2] + expected[-1]]
    assert merged == expected
    for i, window in enumerate(expected):
        sizes = [len(parts[r][i][0]) for r in range(world)]
        assert max(sizes) - min(sizes) <= 1 and min(sizes) > 0
        assert [parts[r][i][1] for r in range(world)] == pytest.approx([s / len(window) for s in sizes])


def test_sequential_eval_shards_cover_the_split_once():
    base = [DeviceBatches(_arrays(50), torch.device("cpu"), 8) for _ in range(3)]
    seen = [y for r in range(3) for b in ShardedBatches(base[r], r, 3).epoch() for y in b["y"].tolist()]
    assert sorted(seen) == list(range(50))


def test_global_batch_must_divide_among_processes():
    bundle = SimpleNamespace(loaders={"train": DeviceBatches(_arrays(40), torch.device("cpu"), 30)}, augment=None)
    with pytest.raises(TrainError, match="batch_size 30 is the global batch and must divide evenly among 4") as err:
        shard_loaders(bundle, 0, 4, 30, BatchShare(4))
    assert err.value.path == ("train", "batch_size")


def test_augmentation_moves_into_the_rank_loader_with_its_own_stream():
    calls = []

    def augment(batch, gen):
        calls.append(gen)
        return {k: v + torch.rand(v.shape, generator=gen) if v.is_floating_point() else v for k, v in batch.items()}

    outs = []
    for rank in (0, 1):
        bundle = SimpleNamespace(loaders={"train": DeviceBatches(_arrays(32), torch.device("cpu"), 8, mode="shuffle")},
                                 augment=augment)
        shard_loaders(bundle, rank, 2, 8, BatchShare(2))
        assert bundle.augment is None  # the loop's shared generator now only orders the data
        gen = torch.Generator().manual_seed(1)
        outs.append([b["x"] - b["y"][:, None] for b in bundle.loaders["train"].epoch(gen)])
        assert gen.initial_seed() == 1
    noise0, noise1 = torch.cat(outs[0]), torch.cat(outs[1])
    assert noise0.shape == noise1.shape and not torch.equal(noise0, noise1)  # ranks draw differently
    assert all(c is calls[0] for c in calls[:4])


# ---- spec rules (netspec validate, no torch) ------------------------------------------------------

def test_validate_checks_distributed_rules(write_spec):
    base = (EXAMPLES / "digits_gan.yaml").read_text()
    path = write_spec(base.replace("train:\n", "train:\n  distributed: {strategy: fsdp, backend: nccl}\n  device: cpu\n", 1))
    proc = run_cli("validate", str(path))
    assert proc.returncode == 1
    assert "train.program: the gan program cannot run distributed" in proc.stderr
    assert "train.distributed.strategy: fsdp shards one model; this spec has several" in proc.stderr
    assert "train.distributed.backend: the nccl backend needs CUDA devices" in proc.stderr


def test_validate_fsdp_refuses_whole_model_trackers(write_spec):
    text = (EXAMPLES / "digits_mlp.yaml").read_text().replace(
        "train:\n", "train:\n  distributed: {strategy: {type: fsdp, units: model}}\n  log: {tensorboard: true}\n", 1)
    proc = run_cli("validate", str(write_spec(text)))
    assert proc.returncode == 1 and "train.log.tensorboard: a sharded model cannot be traced" in proc.stderr


# ---- one process group in this process: the worker path, end to end -------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("strategy", ["ddp", "fsdp"])
def test_one_rank_group_trains_what_a_plain_run_trains(strategy, write_spec, tmp_path, monkeypatch):
    from netspec.checkpoint import load_checkpoint
    from netspec.train.api import train_spec
    from netspec.train.distributed.worker import train_rank

    spec = write_spec((EXAMPLES / "digits_mlp.yaml").read_text().replace("epochs: 30", "epochs: 2"))
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", str(_free_port()))
    sets = [f"train.distributed={{strategy: {strategy}}}"]
    ranked = train_rank(LaunchEnv(0, 1, 0, 1, "torchrun"), spec, sets, device="cpu", out=tmp_path / "rank")
    assert not torch.distributed.is_initialized()  # the group is left
    plain = train_spec(spec, device="cpu", out=tmp_path / "plain")
    assert ranked.metrics["val.accuracy"] == pytest.approx(plain.metrics["val.accuracy"], abs=1e-9)
    a = load_checkpoint(tmp_path / "rank" / "best.pt")["models"]["model"]
    b = load_checkpoint(tmp_path / "plain" / "best.pt")["models"]["model"]
    for k in a:
        torch.testing.assert_close(a[k], b[k], atol=1e-6, rtol=0)
