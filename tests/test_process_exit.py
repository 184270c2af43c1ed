"""netspec/cli/process_exit.py: the process ends without interpreter teardown, and loses nothing a
normal exit keeps -- the exit code, atexit callbacks, the tail of files left open, threads' work."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest


def _run(body: str, tmp_path, **env) -> subprocess.CompletedProcess:
    code = "import sys, atexit, threading, time\nfrom netspec.cli.process_exit import run\n" + textwrap.dedent(body)
    return subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", **env})


@pytest.mark.parametrize("exit_with,status", [("None", 0), ("0", 0), ("3", 3), ("130", 130)])
def test_the_exit_code_is_the_commands(tmp_path, exit_with, status):
    proc = _run(f"def main():\n    sys.exit({exit_with})\nrun(main)", tmp_path)
    assert proc.returncode == status, proc.stderr


def test_a_message_exit_prints_it_and_is_1(tmp_path):
    proc = _run("def main():\n    raise SystemExit('netspec: bad')\nrun(main)", tmp_path)
    assert proc.returncode == 1 and proc.stderr.strip() == "netspec: bad"


def test_atexit_runs_and_open_files_keep_their_tail(tmp_path):
    proc = _run('''
        out = open(sys.argv[1] + "/open.txt", "w")          # never closed: its tail sits in the buffer
        text = open(sys.argv[1] + "/binary.bin", "wb", buffering=1 << 20)
        atexit.register(lambda: open(sys.argv[1] + "/atexit.txt", "w").write("ran"))
        def main():
            out.write("the tail " * 100)
            text.write(b"x" * 1000)
            print("on stdout", end="")
        run(main)
    ''', tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "open.txt").read_text() == "the tail " * 100
    assert (tmp_path / "binary.bin").read_bytes() == b"x" * 1000
    assert (tmp_path / "atexit.txt").read_text() == "ran" and proc.stdout == "on stdout"


def test_a_running_thread_is_waited_for(tmp_path):
    proc = _run('''
        def work():
            time.sleep(0.5)
            open(sys.argv[1] + "/thread.txt", "w").write("done")
        def main():
            threading.Thread(target=work).start()
        run(main)
    ''', tmp_path)
    assert proc.returncode == 0 and (tmp_path / "thread.txt").read_text() == "done", proc.stderr


def test_netspec_commands_end_this_way_with_their_results_whole(tmp_path):
    """The real command: a run's files are complete and the exit code is the command's."""
    import json

    from conftest import ROOT

    proc = subprocess.run([sys.executable, "-m", "netspec", "train", str(ROOT / "examples" / "digits_mlp.yaml"),
                           "--epochs", "2", "--json", "--out", str(tmp_path / "run")], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-1500:]
    summary = json.loads(proc.stdout)
    assert summary == json.loads((tmp_path / "run" / "summary.json").read_text())
    rows = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert len(rows) == 2 and all(json.loads(r)["epoch"] for r in rows)
    assert (tmp_path / "run" / "report.html").read_text().rstrip().endswith("</html>")
    bad = subprocess.run([sys.executable, "-m", "netspec", "validate", str(tmp_path / "missing.yaml")],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode in (1, 2) and "missing.yaml" in bad.stderr
