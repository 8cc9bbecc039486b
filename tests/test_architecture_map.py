"""ARCHITECTURE.md stays a map that is true: short, every `file:function` it names exists, and no document or
docstring points outside the repository (a reader of a clone has only the clone)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAP = ROOT / "ARCHITECTURE.md"
MAP_MAX_BYTES = 8192

# `path.py:name`, `path.py::name`, `path.py:Class.method` inside backticks.
REFERENCE = re.compile(r"`([\w./-]+\.py)::?([A-Za-z_][\w.]*)`")
# Any backticked repository path: a file with an extension or a folder ending in `/`.
PATH = re.compile(r"`((?:\.?[\w-]+/)*[\w.-]+\.(?:py|md|yml|yaml|toml|txt|json)|(?:[\w-]+/)+)`")
# Paths of the machine this project was built on, never of a clone.
OUTSIDE = re.compile(r"/work/|\.\./shared\b")
PRODUCT = ("action", "receiver", "deployer")


def references(text: str) -> list[tuple[str, str]]:
    return REFERENCE.findall(text)


def defines(source: str, dotted: str) -> bool:
    """Whether `source` defines `dotted` (a top-level def/class, or `Class.member` one level down)."""
    scope: list[ast.stmt] = ast.parse(source).body
    for part in dotted.split("."):
        found = next((n for n in scope if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                      and n.name == part), None)
        if found is None:
            return False
        scope = found.body
    return True


def docstrings(source: str) -> list[str]:
    nodes = [n for n in ast.walk(ast.parse(source))
             if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))]
    return [doc for doc in (ast.get_docstring(n) for n in nodes) if doc]


def test_the_map_is_short() -> None:
    size = len(MAP.read_bytes())
    assert size < MAP_MAX_BYTES, f"ARCHITECTURE.md is {size} bytes: move details to docstrings or sub-READMEs"


def test_every_file_function_reference_names_a_definition() -> None:
    refs = references(MAP.read_text(encoding="utf-8"))
    assert len(refs) >= 20, "the data-flow list names file:function for each hop"
    wrong = [f"{path}:{name}" for path, name in refs
             if not (ROOT / path).is_file() or not defines((ROOT / path).read_text(encoding="utf-8"), name)]
    assert not wrong, f"ARCHITECTURE.md names what does not exist: {wrong}"


def test_every_path_in_the_map_exists() -> None:
    paths = set(PATH.findall(MAP.read_text(encoding="utf-8")))
    assert paths, "the map names files"
    missing = sorted(p for p in paths if not (ROOT / p).exists())
    assert not missing, f"ARCHITECTURE.md names paths that do not exist: {missing}"


def test_the_reference_checker_can_fail() -> None:
    source = "class Run:\n    def stage(self): ...\n\ndef run(): ...\n"
    assert defines(source, "run") and defines(source, "Run.stage")
    assert not defines(source, "Run.missing") and not defines(source, "stage")
    assert references("`a/b.py:f` and `c.py::D.e` but not `c.py`") == [("a/b.py", "f"), ("c.py", "D.e")]


def documents() -> list[Path]:
    return [MAP, ROOT / "README.md", *sorted((ROOT / "sandbox").rglob("README.md"))]


@pytest.mark.parametrize("doc", documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_document_points_outside_the_repository(doc: Path) -> None:
    lines = [f"{n}: {line.strip()}" for n, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1)
             if OUTSIDE.search(line)]
    assert not lines, f"{doc.relative_to(ROOT)} names paths outside the repository: {lines}"


def test_no_product_docstring_points_outside_the_repository() -> None:
    files = [p for pkg in PRODUCT for p in sorted((ROOT / pkg).rglob("*.py"))]
    assert len(files) > 50
    found = [f"{p.relative_to(ROOT)}: {doc.splitlines()[0]}" for p in files
             for doc in docstrings(p.read_text(encoding="utf-8")) if OUTSIDE.search(doc)]
    assert not found, f"docstrings naming paths outside the repository: {found}"


def test_the_outside_pattern_catches_both_forms() -> None:
    assert OUTSIDE.search("see /work/shared/x.md") and OUTSIDE.search("(../shared/openrouter/README.md)")
    assert not OUTSIDE.search("sandbox/openrouter/README.md and a shared secret")
