"""DESIGN.md layers, bottom to top: storage and transcribe < core < service < flows, cli, web.

A package imports only from the packages below it (and itself); transcribe knows nothing about the
database, and the three edges (flows, cli, web) never import each other.
"""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "callreview"
ALLOWED = {
    "storage": {"storage"},
    "transcribe": {"transcribe"},  # "knows nothing about the database"
    "core": {"core", "transcribe"},  # the pure domain: no storage, no session
    "service": {"service", "core", "storage", "transcribe"},
    "flows": {"flows", "service", "core", "storage", "transcribe"},
    "cli": {"cli", "flows", "service", "core", "storage", "transcribe"},
    "web": {"web", "service", "core", "storage", "transcribe"},
}
TOP_LEVEL_FORMER = {"storage", "transcribe", "review", "flows"}


def _imported(path: Path) -> tuple[set[str], set[str]]:
    """(callreview subpackages imported, former top-level names imported) by one module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.append(node.module)
    inner = {m.split(".")[1] for m in modules if m.startswith("callreview.") and m.count(".") >= 1}
    former = {m.split(".")[0] for m in modules} & TOP_LEVEL_FORMER
    return inner & set(ALLOWED), former


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_from_layers_below(package):
    offenders = {}
    for path in (PACKAGE / package).rglob("*.py"):
        inner, former = _imported(path)
        wrong = (inner - ALLOWED[package]) | former
        if wrong:
            offenders[str(path.relative_to(PACKAGE.parent))] = sorted(wrong)
    assert offenders == {}


def test_every_module_lives_in_a_layer():
    loose = [p.name for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py")]
    assert loose == []
    assert {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"} == set(ALLOWED)


def test_only_callreview_is_installed_as_a_top_level_package():
    import tomllib

    data = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text(encoding="utf-8"))
    assert data["tool"]["setuptools"]["packages"]["find"]["include"] == ["callreview*"]
    assert data["project"]["scripts"] == {"callreview": "callreview.cli.app:main"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_module_imports_itself_back_through_others():
    """No import loop, not even through an import inside a function (storage.db <-> storage.migrate was one)."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                deps |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
            elif isinstance(node, ast.Import):
                deps |= {alias.name for alias in node.names}
        graph[_module_name(path)] = deps
    graph = {name: {d for d in deps if d in graph and d != name} for name, deps in graph.items()}

    def loop_from(start: str) -> list[str] | None:
        stack, seen = [(start, [start])], set()
        while stack:
            name, path = stack.pop()
            for dep in graph[name]:
                if dep == start:
                    return path + [start]
                if dep not in seen:
                    seen.add(dep)
                    stack.append((dep, path + [dep]))
        return None

    loops = {name: loop for name in graph if (loop := loop_from(name))}
    assert loops == {}
