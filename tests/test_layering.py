"""The design's import layering, checked on the source (stdlib ``ast``; nothing is imported).

Every ``import`` statement in ``netspec/`` is read, at module level and inside functions, relative
and absolute; ``from x import y`` where ``y`` is a submodule counts as importing ``x.y``. The rules
(docs: the layering paragraph of the architecture notes):

- ``netspec.source``, ``netspec.diagnostics``, ``netspec.strict``, ``netspec.registry``, the spec,
  the graph and ``netspec.check`` never import torch: not in their own code, and not through
  anything they import when they are imported (module-level imports, followed transitively,
  package ``__init__`` files included), so ``netspec validate`` stays torch-free; the component
  registries (``COMPONENT_REGISTRIES``) import torch only inside the methods that build;
- no library module (everything outside ``netspec.cli``) imports ``netspec.cli``, typer or rich;
- the layers never import ``netspec.train`` or ``netspec.export``;
- ``netspec.train`` and ``netspec.export`` never import each other: they meet through the compiled
  module and the checkpoint format (``netspec.checkpoint``), which both may import;
- the spec is a leaf: it imports only ``SPEC_MAY_IMPORT`` (the strict blocks, the registries below
  it, errors, source, diagnostics);
- no import cycles between modules, imports inside functions included.

An import under ``if TYPE_CHECKING:`` never runs; it is ignored by the torch rule only.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "netspec"

# The modules that `netspec validate` runs: never torch, directly or through what they import.
TORCH_FREE = ("netspec.source", "netspec.diagnostics", "netspec.strict", "netspec.registry", "netspec.spec", "netspec.graph",
              "netspec.check", "netspec.checks")

# The component registries below the spec: importing them never imports torch (their builders
# import it inside the methods that build), so the spec can import them.
COMPONENT_REGISTRIES = ("netspec.layers", "netspec.losses", "netspec.optimizers", "netspec.schedules", "netspec.metrics",
                        "netspec.initializers", "netspec.augmentations", "netspec.sources", "netspec.programs")

# What the spec (the document model) may import besides itself and the standard library/pydantic:
# the leaf helpers and the component registries below it (one package per component kind).
SPEC_MAY_IMPORT = (
    "netspec.strict",
    "netspec.registry",
    "netspec.errors",
    "netspec.source",
    "netspec.diagnostics",
    *COMPONENT_REGISTRIES,
)

# The spec-leaf rule's open exceptions, each (importing module, imported module): none. Planning and
# checking code that runs on the graph lives above the spec (netspec.checks, netspec.programs).
KNOWN_SPEC_VIOLATIONS: set[tuple[str, str]] = set()

# Import cycles still open: none. An entry here would be the exact set of modules of one cycle (a
# strongly connected component), with the reason it is allowed; the test says when it is gone.
KNOWN_CYCLES: set[frozenset[str]] = set()

# The layers (the registry below the spec) and the modules that must never reach train/export.
LAYERS = "netspec.layers"
FORBIDDEN_FOR_LIBRARY = ("netspec.cli", "typer", "rich")


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported module (a netspec module when it is one, else the top-level name)
    line: int
    module_level: bool  # runs when the importing module is imported
    type_only: bool  # under `if TYPE_CHECKING:` (never runs)

    def where(self) -> str:
        return f"{module_file(self.source)}:{self.line}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: dict[str, Path] = {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def module_file(module: str) -> str:
    return str(MODULES[module].relative_to(ROOT.parent))


def is_package(module: str) -> bool:
    return MODULES[module].name == "__init__.py"


def in_package(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def resolve(name: str) -> str:
    """A netspec module for a dotted name (the longest existing prefix), or the top-level name."""
    if name.split(".")[0] != "netspec":
        return name.split(".")[0]
    parts = name.split(".")
    while parts and ".".join(parts) not in MODULES:
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports_of(module: str) -> list[Import]:
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if is_package(module) else module.rpartition(".")[0]
    found: list[Import] = []

    def add(name: str, line: int, module_level: bool, type_only: bool) -> None:
        found.append(Import(module, resolve(name), line, module_level, type_only))

    def visit(node: ast.AST, module_level: bool, type_only: bool) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node.lineno, module_level, type_only)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                if node.level > 1:
                    base = base[: len(base) - (node.level - 1)]
                base_name = ".".join(base + ([node.module] if node.module else []))
            else:
                base_name = node.module or ""
            for alias in node.names:
                sub = f"{base_name}.{alias.name}"
                add(sub if sub in MODULES else base_name, node.lineno, module_level, type_only)
        inner_level = module_level and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, inner_level, True)
            for child in node.orelse:
                visit(child, inner_level, type_only)
            return
        for child in ast.iter_child_nodes(node):
            visit(child, inner_level, type_only)

    visit(tree, True, False)
    return found


IMPORTS: list[Import] = [imp for module in MODULES for imp in _imports_of(module)]


def _parents(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _import_time_closure(start: str) -> dict[str, Import | None]:
    """Every module (netspec or not) that importing ``start`` runs, each with the import that
    first reached it (module-level, non-TYPE_CHECKING imports; package __init__ files included)."""
    runtime: dict[str, list[Import]] = {}
    for imp in IMPORTS:
        if imp.module_level and not imp.type_only:
            runtime.setdefault(imp.source, []).append(imp)
    reached: dict[str, Import | None] = {start: None}
    todo = [start]
    while todo:
        current = todo.pop()
        if current not in MODULES:
            continue
        nexts = [(p, None) for p in _parents(current)] + [(i.target, i) for i in runtime.get(current, [])]
        for target, via in nexts:
            for t in [*_parents(target), target] if target in MODULES else [target]:
                if t not in reached:
                    reached[t] = via
                    todo.append(t)
    return reached


def _chain(reached: dict[str, Import | None], end: str) -> str:
    steps = []
    node = end
    while reached.get(node) is not None:
        imp = reached[node]
        steps.append(f"{imp.source} -> {node} ({imp.where()})")
        node = imp.source
    return "; ".join(reversed(steps)) or "(package parent)"


def _torch_free_modules() -> list[str]:
    return [m for m in MODULES if any(in_package(m, p) for p in TORCH_FREE)]


def test_the_scanner_sees_function_level_and_relative_imports():
    # The analysis itself must work: known imports are found with their kind.
    assert "netspec.spec" in MODULES and "netspec.train.api" in MODULES
    kinds = {(i.source, i.target): i for i in IMPORTS}
    assert any(i.target == "torch" for i in IMPORTS if i.source == "netspec.compiler")
    assert any(not i.module_level for i in IMPORTS)  # imports inside functions are read
    assert ("netspec", "netspec.check") in kinds and not kinds[("netspec", "netspec.check")].module_level


@pytest.mark.parametrize("module", _torch_free_modules())
def test_torch_free_modules_never_import_torch(module):
    direct = [i for i in IMPORTS if i.source == module and i.target == "torch" and not i.type_only]
    assert not direct, f"{module} imports torch: " + ", ".join(i.where() for i in direct)
    reached = _import_time_closure(module)
    assert "torch" not in reached, f"importing {module} imports torch: {_chain(reached, 'torch')}"


@pytest.mark.parametrize("module", [m for m in MODULES if any(in_package(m, p) for p in COMPONENT_REGISTRIES)])
def test_importing_a_component_registry_never_imports_torch(module):
    reached = _import_time_closure(module)
    assert "torch" not in reached, f"importing {module} imports torch: {_chain(reached, 'torch')}"


def test_no_library_module_imports_the_cli():
    bad = [
        f"{i.where()}: {i.source} imports {i.target}"
        for i in IMPORTS
        if not in_package(i.source, "netspec.cli")
        and i.source != "netspec.__main__"
        and any(in_package(i.target, f) for f in FORBIDDEN_FOR_LIBRARY)
    ]
    assert not bad, "\n".join(bad)


def test_layers_never_import_train_or_export():
    bad = [
        f"{i.where()}: {i.source} imports {i.target}"
        for i in IMPORTS
        if in_package(i.source, LAYERS) and any(in_package(i.target, p) for p in ("netspec.train", "netspec.export"))
    ]
    assert not bad, "\n".join(bad)


def test_train_and_export_never_import_each_other():
    pairs = (("netspec.train", "netspec.export"), ("netspec.export", "netspec.train"))
    bad = [
        f"{i.where()}: {i.source} imports {i.target}"
        for i in IMPORTS
        for a, b in pairs
        if in_package(i.source, a) and in_package(i.target, b)
    ]
    assert not bad, "\n".join(bad)


def _spec_violations() -> set[tuple[str, str]]:
    return {
        (i.source, i.target)
        for i in IMPORTS
        if in_package(i.source, "netspec.spec")
        and in_package(i.target, "netspec")
        and not in_package(i.target, "netspec.spec")
        and not any(in_package(i.target, allowed) for allowed in SPEC_MAY_IMPORT)
    }


def test_spec_imports_nothing_above_it():
    found = _spec_violations()
    where = {(i.source, i.target): i.where() for i in IMPORTS}
    new = sorted(found - KNOWN_SPEC_VIOLATIONS)
    assert not new, "the spec imports above itself:\n" + "\n".join(f"{where[p]}: {p[0]} imports {p[1]}" for p in new)
    fixed = sorted(KNOWN_SPEC_VIOLATIONS - found)
    assert not fixed, f"no longer violated, remove from KNOWN_SPEC_VIOLATIONS: {fixed}"


GRAPH_WORDS = {"graph", "graphs", "data_graph"}


def test_spec_holds_no_code_that_runs_on_the_graph():
    """The spec is the document model: planning and checking code that takes a built graph lives above
    it (netspec.checks: plan, performance, gradients; each program's rules in netspec.programs)."""
    found = []
    for file in sorted((ROOT / "spec").rglob("*.py")):
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                args = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
                names = {a.arg for a in args} | {ast.unparse(a.annotation) for a in args if a.annotation is not None}
                if names & (GRAPH_WORDS | {"Graph"}):
                    found.append(f"{file.relative_to(ROOT.parent)}:{node.lineno}: {node.name}({', '.join(a.arg for a in args)})")
    assert not found, "code that runs on the graph lives in spec/:\n" + "\n".join(found)


def _cycles() -> list[list[str]]:
    """The strongly connected components (more than one module) of the netspec import graph."""
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for i in IMPORTS:
        if i.target in MODULES and i.target != i.source:
            graph[i.source].add(i.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(sorted(component))
    return components


def _describe(component: list[str]) -> str:
    members = set(component)
    edges = sorted(
        {f"  {i.source} -> {i.target} ({i.where()}{'' if i.module_level else ', in a function'})" for i in IMPORTS
         if i.source in members and i.target in members and i.source != i.target}
    )
    return "cycle among " + ", ".join(component) + ":\n" + "\n".join(edges)


def test_no_import_cycles():
    cycles = _cycles()
    new = [c for c in cycles if frozenset(c) not in KNOWN_CYCLES]
    assert not new, "\n".join(_describe(c) for c in new)
    gone = [sorted(k) for k in KNOWN_CYCLES if k not in {frozenset(c) for c in cycles}]
    assert not gone, f"no longer a cycle, remove from KNOWN_CYCLES: {gone}"


def test_the_cycle_finder_finds_a_cycle_through_a_function_level_import():
    # netspec.__init__ imports netspec.check inside build_graph; a module-level import back would close it.
    fake = Import("netspec.check", "netspec", 1, True, False)
    IMPORTS.append(fake)
    try:
        assert any({"netspec", "netspec.check"} <= set(c) for c in _cycles())
    finally:
        IMPORTS.remove(fake)
