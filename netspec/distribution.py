"""netspec as an installed distribution: its name, its version and its optional extras.

The import package and the command are ``netspec``; the distribution is ``netspec-torch``,
because on PyPI the name ``netspec`` belongs to an unrelated project. netspec has no PyPI
release: it installs from a checkout (``pip install .``) or from a wheel built there. A leaf
module (standard library only), so the CLI, training, export and tracking all read the version
and the install hints from one place.
"""

from __future__ import annotations

DISTRIBUTION = "netspec-torch"

#: extra -> the package it adds (pyproject's [project.optional-dependencies], ``dev`` aside)
EXTRAS = {"parquet": "pyarrow", "tensorboard": "tensorboard", "mlflow": "mlflow", "tune": "optuna", "text": "tokenizers"}


def version() -> str:
    """The installed distribution's version ("0+unknown" when running from a source tree)."""
    from importlib import metadata  # lazily: importlib.metadata costs ~25 ms at start-up

    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "0+unknown"


def install_hint(extra: str) -> str:
    """How to install the package behind an optional extra (a KeyError for an unknown extra)."""
    package = EXTRAS[extra]
    return f"pip install {package} (or, in a netspec checkout, pip install '.[{extra}]')"
