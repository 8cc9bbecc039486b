"""The product apart from its test world: what the wheel holds, what the product imports, what the action installs."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
import zipfile
from importlib.metadata import packages_distributions
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from uvlock_support import ROOT, locked_closure

from deployer.cli import SANDBOX_IMPORTS

PRODUCT = ("deployer", "receiver", "action")
EXPORT = ["uv", "export", "--frozen", "--no-default-groups", "--group", "build", "--no-emit-project"]


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_the_action_requirements_are_uv_lock_exported() -> None:
    exported = subprocess.run([sys.executable, "-m", *EXPORT], cwd=ROOT, capture_output=True, text=True, check=True,
                              timeout=120).stdout
    assert (ROOT / "action-requirements.txt").read_text() == exported, (
        f"action-requirements.txt is stale: regenerate it with `{' '.join(EXPORT)} > action-requirements.txt`")


def test_the_action_installs_the_runtime_dependencies_and_the_build_backend_only() -> None:
    closure = locked_closure(("build",))
    assert set(closure) >= {"aiohttp", "pygithub", "playwright", "hatchling"}
    # the sandbox's and the benchmarks' own dependencies stay out (cryptography comes with PyGithub's pyjwt[crypto])
    assert not set(closure) & {"dulwich", "openapi-schema-validator", "jsonschema", "flask", "gunicorn", "pytest"}


def _third_party_imports(package: Path) -> dict[str, str]:
    """{top-level module: first file importing it} for every non-stdlib, non-project import under `package`."""
    found: dict[str, str] = {}
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in PRODUCT:
                    found.setdefault(top, str(path.relative_to(ROOT)))
    return found


def test_every_import_of_the_product_is_a_runtime_dependency() -> None:
    runtime = locked_closure()
    by_module = packages_distributions()
    imports = {m: f for package in PRODUCT for m, f in _third_party_imports(ROOT / package).items()}
    assert {"github", "aiohttp", "playwright", "openpyxl", "html5lib", "yaml", "tenacity"} <= set(imports)
    for module, where in imports.items():
        dists = {canonicalize_name(d) for d in by_module.get(module, [])}
        assert dists & set(runtime), f"{where} imports {module}, which no runtime dependency provides"


def test_the_cli_knows_what_the_sandbox_needs() -> None:
    group = pyproject()["dependency-groups"]["sandbox"]
    imports = tuple(canonicalize_name(Requirement(r).name).replace("-", "_") for r in group)
    assert SANDBOX_IMPORTS[1:] == imports and SANDBOX_IMPORTS[0] == "sandbox"


def test_the_wheel_holds_the_product_only(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(tmp_path)], cwd=ROOT,
                   check=True, capture_output=True, timeout=120)
    wheel = next(tmp_path.glob("*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names}
    assert tops == {*PRODUCT, "llm_pages_deployer-0.1.0.dist-info"}
    # the data files the product reads at run time come along
    assert any(n.startswith("action/prompts/") for n in names)
    assert "receiver/openapi.yaml" in names
    assert any(n.startswith("deployer/templates/") for n in names)
    metadata = zipfile.ZipFile(wheel).read("llm_pages_deployer-0.1.0.dist-info/METADATA").decode()
    requires = {canonicalize_name(Requirement(line.split(":", 1)[1]).name)
                for line in metadata.splitlines() if line.startswith("Requires-Dist:")}
    assert requires == {canonicalize_name(Requirement(d).name) for d in pyproject()["project"]["dependencies"]}
    assert "dulwich" not in requires
