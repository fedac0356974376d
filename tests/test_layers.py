"""DESIGN.md layers: storage < transcribe < review < flows; a package imports only from those below it."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = {
    "storage": {"storage"},
    "transcribe": {"transcribe"},  # "knows nothing about the database"
    "review": {"review", "storage", "transcribe"},
    "flows": {"flows", "review", "storage", "transcribe"},
}


def _imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & set(ALLOWED)


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_from_layers_below(package):
    offenders = {}
    for path in (ROOT / package).rglob("*.py"):
        wrong = _imported_packages(path) - ALLOWED[package]
        if wrong:
            offenders[str(path.relative_to(ROOT))] = sorted(wrong)
    assert offenders == {}
