"""Without an optional extra (pyarrow, tensorboard, mlflow, optuna) netspec still imports, and the
feature that needs it is a located error that names the package to install, never a traceback.
A module is made missing by a None entry in sys.modules (import then raises ImportError)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import EXAMPLES, ROOT
from netspec.distribution import EXTRAS, install_hint
from netspec.errors import DataError, TrainError


def test_install_hints_name_the_package_and_the_extra():
    assert install_hint("tune") == "pip install optuna (or, in a netspec checkout, pip install '.[tune]')"
    assert set(EXTRAS) == {"parquet", "tensorboard", "mlflow", "tune", "text"}
    with pytest.raises(KeyError):
        install_hint("gpu")


def test_tune_without_optuna_is_a_located_error_through_the_cli(tmp_path):
    code = ("import sys; sys.modules['optuna'] = None; from netspec.cli.app import main; "
            f"main(['tune', {str(EXAMPLES / 'digits_mlp_tune.yaml')!r}, '--trials', '1', '--out', {str(tmp_path / 'out')!r}])")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    line = next(i for i, t in enumerate((EXAMPLES / "digits_mlp_tune.yaml").read_text().splitlines(), 1) if t.startswith("tune:"))
    assert proc.stderr.startswith(f"{EXAMPLES / 'digits_mlp_tune.yaml'}:{line + 1}:3: tune: netspec tune needs the "
                                  "'optuna' package, which is not installed\n"), proc.stderr
    assert "hint: pip install optuna (or, in a netspec checkout, pip install '.[tune]')" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "out").exists()


def test_mlflow_and_tensorboard_trackers_without_their_packages(monkeypatch, tmp_path):
    from netspec.track.mlflow import MlflowTracker
    from netspec.track.tensorboard import TensorBoardTracker

    monkeypatch.setitem(sys.modules, "mlflow", None)
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    with pytest.raises(TrainError) as ml:
        MlflowTracker(None, tmp_path, None)
    assert ml.value.path == ("train", "log", "mlflow") and "'mlflow' package" in str(ml.value)
    assert ml.value.hint == "pip install mlflow (or, in a netspec checkout, pip install '.[mlflow]'), or set mlflow: false"
    with pytest.raises(TrainError) as tb:
        TensorBoardTracker(None, tmp_path, None)
    assert tb.value.path == ("train", "log", "tensorboard") and tb.value.hint.startswith("pip install tensorboard ")


def test_parquet_without_pyarrow(monkeypatch, tmp_path):
    from netspec.data.readers import read_rows
    from netspec.sources.parquet import Parquet

    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    file = tmp_path / "rows.parquet"
    file.write_bytes(b"PAR1")
    with pytest.raises(DataError) as info:
        read_rows(Parquet(type="parquet", path=str(file), target="y"), Path(file), ("data", "source"))
    assert info.value.path == ("data", "source", "type") and "needs pyarrow" in str(info.value)


def test_bpe_without_tokenizers_is_a_located_error_through_the_cli(tmp_path):
    spec = tmp_path / "lm.yaml"
    spec.write_text("netspec: 1\ninputs:\n  tokens: {shape: [seq], dtype: int64}\nmodel:\n  layers:\n"
                    "    - {embedding: {num_embeddings: 300, embedding_dim: 8}}\n    - {linear: {out_features: 300}}\n"
                    "data:\n  source: {type: text, path: corpus.txt, tokenize: bpe}\ntrain:\n  program: language_model\n")
    (tmp_path / "corpus.txt").write_text("some text to tokenize\n" * 20)
    code = ("import sys; sys.modules['tokenizers'] = None; from netspec.cli.app import main; "
            f"main(['train', {str(spec)!r}, '--out', {str(tmp_path / 'run')!r}])")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    col = spec.read_text().splitlines()[8].index("bpe") + 1
    assert f"{spec}:9:{col}: data.source.tokenize: tokenize: bpe needs the 'tokenizers' package, which is not installed" \
        in proc.stderr, proc.stderr
    assert "hint: pip install tokenizers (or, in a netspec checkout, pip install '.[text]')" in proc.stderr
    assert "Traceback" not in proc.stderr
