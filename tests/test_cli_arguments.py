"""Every command's arguments, as a hostile or clumsy user passes them.

Two parts. Regression cases, one per fault found by hand (each was `internal error`, exit 3, or a
hang): output paths into missing folders or onto files, device strings, rendezvous endpoints, study
storage URLs, a learning rate past float32. And a suite generated from the typer app itself: each
command gets a valid base invocation, then one of its options or arguments is replaced by a value
drawn for its type (paths that are missing, files, folders, FIFOs, /dev/null, names with NUL bytes;
numbers out of range, NaN, overflowing; strings empty, huge, bogus; choices that are not). A new
command or option is covered without writing a case. Each case must end in exit 0, or exit 1/2 with a
message and no traceback, within bounded time.

The default suite runs a short derandomized sample; ``-m fuzz`` runs the long campaign
(NETSPEC_ARG_FUZZ_CASES, default 3,000).
"""

from __future__ import annotations

import enum
import os
import re
import typing
import warnings
from itertools import count
from pathlib import Path

import numpy as np
import pytest
import typer.main
from hypothesis import given, settings
from hypothesis import strategies as st

from fuzz_specs import COMMAND_FUZZ, TINY_DIGITS, count_outcome, run_bounded, run_cli_in_process
from netspec.cli.app import app
from test_cli_generate import CORPUS, TINY_LM  # the language model generate's own tests train

SPEC = TINY_DIGITS + """\
tune:
  trials: 1
  epochs: 1
  space:
    train.optimizer.lr: {type: log_uniform, low: 1.0e-3, high: 1.0e-2}
"""

COMMON = COMMAND_FUZZ

VAE = Path(__file__).resolve().parents[1] / "examples" / "digits_vae.yaml"



class World:
    """A spec, a trained run and a prediction input, made once; fresh output names per case."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.spec = root / "spec.yaml"
        self.spec.write_text(SPEC, encoding="utf-8")
        self.run = root / "run"
        code, out, err, _ = run_cli_in_process(["train", str(self.spec), "--out", str(self.run), "--quiet"])
        assert code == 0, err[-2000:]
        from sklearn.datasets import load_digits

        self.input = root / "input.npz"
        np.savez(self.input, features=load_digits().data[:20].astype(np.float32))
        self.file = root / "a_file.txt"
        self.file.write_text("not a spec, not a folder\n", encoding="utf-8")
        self.folder = root / "a_folder"
        self.folder.mkdir()
        self.fifo = root / "a_fifo"
        os.mkfifo(self.fifo)
        self.images = root / "images"
        from PIL import Image

        for label in ("cat", "dog"):
            (self.images / label).mkdir(parents=True)
            for i in range(3):
                Image.new("RGB", (8, 8), (40 * i, 80, 120)).save(self.images / label / f"{i}.png")
        self._n = count()
        # generate and sample need a generative checkpoint: a char-level LM and the digits VAE, 1 epoch each
        (root / "corpus.txt").write_text(CORPUS, encoding="utf-8")
        self.lm_spec = root / "lm.yaml"
        self.lm_spec.write_text(TINY_LM, encoding="utf-8")
        self.lm_run = root / "lm-run"
        self.vae_run = root / "vae-run"
        for spec, run in ((self.lm_spec, self.lm_run), (VAE, self.vae_run)):
            code, out, err, _ = run_cli_in_process(["train", str(spec), "--epochs", "1", "--out", str(run), "--quiet"])
            assert code == 0, err[-2000:]

    def fresh(self, suffix: str = "") -> str:
        return str(self.root / f"out{next(self._n)}{suffix}")

    def base(self, command: str) -> list[str]:
        """A valid invocation of ``command`` (its required arguments and options)."""
        s, run = str(self.spec), str(self.run)
        return {
            "validate": [s], "summary": [s], "layers": [], "schema": [], "render": [s],
            "train": [s, "--epochs", "1", "--quiet", "--out", self.fresh()],
            "tune": [s, "--trials", "1", "--epochs", "1", "--quiet", "--out", self.fresh()],
            "evaluate": [s, "--checkpoint", run],
            "predict": [s, "--checkpoint", run, "--input", str(self.input), "--output", self.fresh(".npz")],
            "export": [s, "--checkpoint", run, "-o", self.fresh(".onnx")],
            "generate": [str(self.lm_spec), "--checkpoint", str(self.lm_run), "--prompt", "the ", "--max-tokens", "8"],
            "sample": [str(VAE), "--checkpoint", str(self.vae_run), "-n", "4", "-o", self.fresh(".png")],
            "graph": [s, "--format", "mermaid"],
            "diff": [s, s], "report": [run], "compare": [run, run, "--out", self.fresh()],
            "data shards": [str(self.images), self.fresh(), "--quiet"],
        }[command]


def commands() -> dict[str, typing.Any]:
    """Every command of the app by its command line ("train", "data shards"), sub-commands included."""
    found: dict[str, typing.Any] = {}

    def walk(command, prefix: str) -> None:
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, f"{prefix} {name}".strip())
        if not hasattr(command, "commands"):
            found[prefix] = command

    walk(typer.main.get_command(app), "")
    return found


def hostile_values(param, world: World) -> list[str]:
    """Values for one parameter, drawn from its annotation (the type typer parses it as)."""
    annotation = param.type_descriptor.annotation
    if typing.get_origin(annotation) is list:
        annotation = typing.get_args(annotation)[0]
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return ["bogus", "", "JSON", "text "]
    if annotation is Path:
        return ["missing/folder/x", str(world.file), str(world.folder), str(world.fifo), "/dev/null", "",
                "name\x00with-nul", "x" * 300, "/proc/self/mem", str(world.root)]
    if annotation is int:
        return ["0", "-1", "abc", "1.5", "", "99999999999999999999", "-99999999999999999999"]
    if annotation is float:
        return ["nan", "inf", "-inf", "-1", "abc", "1e400", "0", ""]
    if annotation is bool:
        return []  # a flag: present or not; the base invocations and regression cases cover both
    values = ["", "bogus", "x" * 5000, "é\u202e\u200b", "-", "--", "a=b", "../../etc/passwd"]
    if param.name == "set_":
        values += ["noequals", "=1", "train.optimizer.lr=", "train.optimizer.lr=1e100", "model.layers[99].x=1",
                   "train.epochs=-1", "train.batch_size=1e30", "data.source={type: csv", "train..x=1"]
    return values


def all_cases(world: World) -> list[tuple[str, list[str]]]:
    cases = []
    for name, command in commands().items():
        for param in command.params:
            for value in hostile_values(param, world):
                cases.append((name, with_value(world.base(name), command, param, value)))
    return cases


def with_value(base: list[str], command, param, value: str) -> list[str]:
    """``base`` with ``param`` set to ``value``: an option replaced or appended, an argument replaced."""
    if param.param_type_name == "option":
        flag = param.opts[0]
        args = list(base)
        for i, a in enumerate(args[:-1]):
            if a in param.opts:
                args[i + 1] = value
                return args
        return args + [flag, value]
    positions = [p for p in command.params if p.param_type_name == "argument"]
    index = positions.index(param)
    args = list(base)
    if index < len(args) and not args[index].startswith("-"):
        args[index] = value
    else:
        args.insert(index, value)
    return args


WORK = Path(".")  # the folder each case runs in (set by the fixture)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    global WORK
    WORK = tmp_path_factory.mktemp("cwd")
    return World(tmp_path_factory.mktemp("args"))


def check_case(command: str, args: list[str], limit_s: int = 60) -> None:
    shown = " ".join(a if len(a) < 60 else a[:57] + "..." for a in [command, *args])
    # relative paths drawn ("missing/folder/x") land in a scratch folder, not the checkout
    code, out, err, seconds = run_bounded([*command.split(), *args], limit_s, cwd=WORK)
    both = out + err
    count_outcome(code)
    assert code in (0, 1, 2), f"exit {code}: netspec {shown}\n{both[-2000:]}"
    assert "Traceback" not in both and "internal error" not in both, f"netspec {shown}\n{both[-2000:]}"
    if code:
        assert re.search(r"\S", err), f"netspec {shown}: exit {code} without a message"
    assert seconds < 120, f"netspec {shown} took {seconds:.0f} s of CPU time"


def test_every_command_and_option_is_generated(world):
    """The generator sees every command and every non-flag option, so a new one is fuzzed unasked."""
    cases = all_cases(world)
    covered = {(c, a[-2]) for c, a in cases if len(a) >= 2}
    for name, command in commands().items():
        assert name in {c for c, _ in cases}, name
        for param in command.params:
            if param.param_type_name == "option" and not getattr(param, "is_flag", False):
                assert any(c == name and flag in param.opts for c, flag in covered) or any(
                    c == name and param.opts[0] in a for c, a in cases), (name, param.name)


def test_every_base_invocation_succeeds(world):
    """The fuzz replaces one option of a valid command line: each base must be valid, or the cases test
    only the first error (generate once ran against a classifier checkpoint, sample likewise)."""
    for name in commands():
        code, out, err, _ = run_bounded([*name.split(), *world.base(name)], 120, cwd=WORK)
        assert code == 0, (name, err[-1500:])


@settings(max_examples=40, derandomize=True, **COMMON)
@given(data=st.data())
def test_hostile_arguments_end_in_a_message(world, data):
    command, args = data.draw(st.sampled_from(all_cases(world)))
    check_case(command, args)


@pytest.mark.fuzz
@settings(max_examples=int(os.environ.get("NETSPEC_ARG_FUZZ_CASES", "3000")), derandomize=False, **COMMON)
@given(data=st.data())
def test_long_argument_campaign(world, data):
    command, args = data.draw(st.sampled_from(all_cases(world)))
    if data.draw(st.booleans()):  # and a second hostile option in the same command line
        _, more = data.draw(st.sampled_from([c for c in all_cases(world) if c[0] == command]))
        args = args + more[len(world.base(command)):]  # what that case appended to its base, if anything
    check_case(command, args)


# ---- regression cases: each was exit 3 (internal error) or a hang ---------------------------------


@pytest.mark.parametrize("command,args,message", [
    ("schema", ["-o", "{root}/missing/dir/s.json"], "does not exist"),
    ("schema", ["-o", "{root}/a_folder"], "is a folder"),
    ("schema", ["-o", "{root}/a_fifo"], "is a FIFO, not a file"),  # it hung, waiting for a reader
    ("export", ["{spec}", "-o", "{root}/a_fifo"], "is a FIFO, not a file"),
    ("export", ["{spec}", "-o", "{root}/a_file.txt/m.onnx"], "is a file, so"),
    ("graph", ["{spec}", "-o", "{root}/missing/dir/g.svg"], "does not exist"),
    ("predict", ["{spec}", "--checkpoint", "{run}", "--input", "{root}/input.npz", "--output", "{root}/no/p.csv"],
     "does not exist"),
    ("sample", ["{spec}", "--checkpoint", "{run}", "-o", "{root}/no/s.png"], "does not exist"),
    ("train", ["{spec}", "--out", "{root}/a_file.txt"], "is a file"),
    ("train", ["{spec}", "--out", "/dev/null"], "is a file"),
    ("train", ["{spec}", "--device", "bogus"], "expected auto, cpu, mps, cuda or cuda:N, got 'bogus'"),
    ("train", ["{spec}", "--nproc-per-node", "2", "--rdzv-endpoint", "garbage"], "is not HOST:PORT"),
    ("train", ["{spec}", "--nproc-per-node", "2", "--nnodes", "2", "--node-rank", "1", "--rdzv-endpoint", "h:99999"],
     "the port must be a number from 1 to 65535"),
    ("train", ["{spec}", "--nproc-per-node", "100000"], "more than 256 processes"),
    ("train", ["{spec}", "--set", "train.optimizer.lr=1e100"], "train.optimizer.lr: expected a value ≤ 3.4"),
    ("train", ["{spec}", "--set", "train.optimizer.weight_decay=1e100"], "train.optimizer.weight_decay"),
    ("tune", ["{spec}", "--storage", "bogus"], "is not a database URL"),
    ("tune", ["{spec}", "--storage", "sqlite:///{root}/missing/dir/x.db"], "does not exist"),
    ("tune", ["{spec}", "--storage", "sqlite:///{root}/a_folder"], "is a folder"),
    ("tune", ["{spec}", "--out", "{root}/a_file.txt"], "is a file"),
    ("tune", ["{spec}", "--jobs", "100000"], "--jobs"),
    ("compare", ["{run}", "{run}", "--out", "{root}/a_file.txt"], "is a file"),
    ("data shards", ["{root}/images", "{root}/a_fifo"], "is a file, not a folder"),  # FileExistsError, exit 3
    ("data shards", ["{root}/images", "{root}/shards", "--prefix", "../../etc/passwd"], "not a plain file-name prefix"),
    # OverflowError in torch.Generator.manual_seed (found by the campaign against a language model)
    ("generate", ["{lm_spec}", "--checkpoint", "{lm_run}", "--prompt", "the", "--seed", "-99999999999999999999"],
     "--seed"),
    ("sample", ["{vae}", "--checkpoint", "{vae_run}", "--seed", "99999999999999999999"], "--seed"),
    ("train", ["{spec}", "--set", "data.split.seed=-1"], "data.split.seed: expected a value ≥ 0"),  # scikit-learn's error
    ("train", ["{spec}", "--set", "train.seed=4294967296"], "train.seed: expected a value ≤ 4294967295"),
])
def test_argument_faults_are_usage_errors(world, command, args, message):
    args = [a.format(root=world.root, spec=world.spec, run=world.run, lm_spec=world.lm_spec, lm_run=world.lm_run,
                     vae=VAE, vae_run=world.vae_run) for a in args]
    code, out, err, _ = run_cli_in_process([*command.split(), *args])
    assert code in (1, 2), (code, (out + err)[-1500:])
    assert "Traceback" not in out + err and "internal error" not in out + err
    assert message in " ".join((out + err).split()), (out + err)[-1500:]


def test_a_study_database_that_cannot_be_opened_is_located(world):
    """A URL of a server that is not there (or whose driver is missing) was SQLAlchemy's traceback."""
    code, out, err, _ = run_cli_in_process(["tune", str(world.spec), "--storage", "postgresql://nobody@127.0.0.1:9/x",
                                            "--trials", "1", "--epochs", "1", "--out", world.fresh()])
    assert code == 1 and f"{world.spec}:" in err and "cannot open the study database postgresql://" in err, err[-1500:]


def test_main_commands_use_no_deprecated_api_of_a_dependency(world):
    """Optuna 4.9 deprecated RetryFailedTrialCallback and failed_trial_callback (a FutureWarning on every
    `netspec tune --storage`): warnings raised from netspec's own calls into a dependency are errors here."""
    runs = [["validate", str(world.spec)], ["summary", str(world.spec)],
            ["train", str(world.spec), "--epochs", "1", "--quiet", "--out", world.fresh()],
            ["evaluate", str(world.spec), "--checkpoint", str(world.run)],
            ["predict", str(world.spec), "--checkpoint", str(world.run), "--input", str(world.input),
             "--output", world.fresh(".npz")],
            ["export", str(world.spec), "--checkpoint", str(world.run), "-o", world.fresh(".onnx")],
            ["tune", str(world.spec), "--trials", "2", "--epochs", "1", "--quiet", "--out", world.fresh(),
             "--storage", f"sqlite:///{world.fresh('.db')}"]]
    for args in runs:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            code, out, err, _ = run_cli_in_process(args)
        assert code == 0, (args, err[-1500:])
        deprecations = [w for w in caught if issubclass(w.category, (DeprecationWarning, FutureWarning))
                        and "netspec" in _caller(w)]
        assert not deprecations, [(str(w.message)[:200], w.filename) for w in deprecations]


def _caller(w: warnings.WarningMessage) -> str:
    """The file a warning is attributed to: with stacklevel set right, the caller into the dependency."""
    return str(w.filename)



def test_a_hang_that_outlasts_its_alarm_ends_the_campaign_with_its_stacks():
    """A 2,000-case campaign once stalled for 25 minutes inside Optuna's trial loop: the case's alarm had
    raised, but the process went on waiting. The watchdog turns such a stall into a failed run that
    names the case and shows where every thread was."""
    import subprocess
    import sys

    code = ("import sys, time; sys.path.insert(0, sys.argv[1]); from fuzz_specs import hang_watchdog\n"
            "hang_watchdog('netspec tune spec.yaml', 0.5); time.sleep(30)")
    done = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent)], capture_output=True, text=True,
                          timeout=25)
    assert done.returncode == 70, done.stderr[-1500:]
    assert "HANG: netspec tune spec.yaml" in done.stderr and "time.sleep" not in done.stdout, done.stderr[-1500:]
    assert 'File "<string>", line 2' in done.stderr, done.stderr[-1500:]  # the stalled thread's stack
