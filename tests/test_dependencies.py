"""pyproject.toml declares what netspec imports: a plain `pip install .` gives a netspec that runs.

Every third-party module that a file under netspec/ imports (at the top or inside a function) must
come from a distribution named in [project].dependencies, or in one of the optional extras; an
extra's modules are only imported inside functions, so `import netspec.<anything>` works without
it. The distribution name and the extras also match netspec.distribution, where the version and
the install hints come from."""

from __future__ import annotations

import ast
import re
import sys
from functools import lru_cache
from importlib.metadata import packages_distributions

import pytest

from conftest import ROOT
from netspec.distribution import DISTRIBUTION, EXTRAS

tomllib = pytest.importorskip("tomllib" if sys.version_info >= (3, 11) else "tomli")

PACKAGE = ROOT / "netspec"
#: imports that need a distribution the module's own name does not show
IMPLIED = {"torch.utils.tensorboard": "tensorboard"}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _names(requirements: list[str]) -> set[str]:
    return {_norm(re.match(r"[A-Za-z0-9._-]+", r).group(0)) for r in requirements}


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def imports(tree: ast.Module):
    """(dotted module name, line, inside a function) for every absolute import in a module."""
    def walk(node: ast.AST, in_function: bool):
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield alias.name, child.lineno, in_function
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                yield child.module, child.lineno, in_function
            yield from walk(child, nested)
    yield from walk(tree, False)


@lru_cache(maxsize=1)
def third_party_imports() -> list[tuple[str, str, int, bool]]:
    """(module, file, line, inside a function) for the imports of modules outside the standard library."""
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for module, line, in_function in imports(tree):
            top = module.split(".")[0]
            if top in sys.stdlib_module_names or top in ("__future__", "netspec"):
                continue
            out.append((module, path.relative_to(ROOT).as_posix(), line, in_function))
    return out


@lru_cache(maxsize=1)
def _providers() -> dict[str, list[str]]:
    return packages_distributions()  # reads every installed distribution's file list: once


def distributions_of(module: str) -> set[str]:
    implied = next((d for m, d in IMPLIED.items() if module == m or module.startswith(m + ".")), None)
    if implied:
        return {_norm(implied)}
    return {_norm(d) for d in _providers().get(module.split(".")[0], [])}


def test_the_scan_sees_function_level_imports():
    tree = ast.parse("import a\nfrom b.c import d\ndef f():\n    import e.f\n    from .g import h\n")
    assert list(imports(tree)) == [("a", 1, False), ("b.c", 2, False), ("e.f", 4, True)]
    assert distributions_of("sklearn.datasets") == {"scikit-learn"}
    assert distributions_of("torch.utils.tensorboard") == {"tensorboard"}


def test_every_imported_package_is_declared():
    project = _project()
    required = _names(project["dependencies"])
    extras = {k: _names(v) for k, v in project["optional-dependencies"].items() if k != "dev"}
    optional = set().union(*extras.values())
    problems = []
    for module, file, line, in_function in third_party_imports():
        dists = distributions_of(module)
        if not dists:
            problems.append(f"{file}:{line}: imports {module}, which no installed distribution provides")
        elif not dists & (required | optional):
            problems.append(f"{file}:{line}: imports {module} ({' / '.join(sorted(dists))}), which pyproject.toml "
                            "does not declare")
        elif not dists & required and not in_function:
            problems.append(f"{file}:{line}: imports {module} (an optional extra) at module level: "
                            "importing netspec would need the extra")
    assert problems == [], "\n".join(problems)


def test_every_required_dependency_is_imported():
    used = set().union(*(distributions_of(m) for m, *_ in third_party_imports()))
    unused = _names(_project()["dependencies"]) - used
    assert unused == set(), f"declared but never imported: {sorted(unused)}"


def test_the_distribution_name_and_extras_match_the_code():
    project = _project()
    assert project["name"] == DISTRIBUTION and project["name"] != "netspec"  # "netspec" on PyPI is another project
    extras = {k: _names(v) for k, v in project["optional-dependencies"].items() if k != "dev"}
    assert set(extras) == set(EXTRAS)
    for extra, package in EXTRAS.items():
        assert _norm(package) in extras[extra], extra
        assert _norm(package) in _names(project["optional-dependencies"]["dev"]), f"the dev extra lacks {package}"
    assert project["scripts"] == {"netspec": "netspec.cli.app:console"}


def test_the_version_is_the_installed_distributions():
    from importlib import metadata

    import netspec

    try:
        installed = metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        pytest.skip(f"{DISTRIBUTION} is not installed here (netspec runs from a source tree)")
    assert netspec.__version__ == installed == _project()["version"]
