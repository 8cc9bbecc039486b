"""The action's install (action.yml's first steps, action-install.sh) on a runner like GitHub's: no uv, and no network
but a package index. It installs exactly what uv.lock pins, keeps the venv in the Actions cache for the next run,
and says in one `::error` line why when it cannot. The index is local: wheels rebuilt from this test environment
(which uv synced from the same lock), served over HTTP on 127.0.0.1, with proxies that lead nowhere for the rest."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml
from packaging.utils import canonicalize_name
from uvlock_support import ROOT, locked_closure

from sandbox.action_install import machine, make_repo, run_install
from sandbox.pypi import NOWHERE, PackageIndex, index_of_installed, pinned_action, write_index
from sandbox.runner import RunResult, StepResult
from sandbox.world import project_files

pytestmark = pytest.mark.e2e

REPORT = """\
      - if: always()
        run: |
          venv="$RUNNER_TEMP/llm-pages-deployer"
          "$venv/bin/python" -c 'import importlib.metadata as m, json
          print("installed=" + json.dumps({d.metadata["Name"]: d.version for d in m.distributions()}))'
          "$venv/bin/deployer" sandbox 2>&1 || echo "sandbox-exit=$?"
"""


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> PackageIndex:
    """uv.lock's runtime dependencies and build backend, as this environment (synced from the lock) has them."""
    return index_of_installed(tmp_path_factory.mktemp("index"), locked_closure(("build",)))


@pytest.fixture(scope="module")
def action_dir(tmp_path_factory: pytest.TempPathFactory, index: PackageIndex) -> Path:
    """The action's repository as a runner checks it out, its pins hashed as the local wheels are."""
    return pinned_action(tmp_path_factory.mktemp("action"), project_files(), index)


def runner_machine(tmp_path: Path, index_url: str) -> dict[str, str]:
    """GitHub's ubuntu runner as far as the install sees it (no uv), whose network reaches the index alone."""
    return {**machine(tmp_path, index_url), "PIP_RETRIES": "0", "PIP_TIMEOUT": "5"}


def run_phases(tmp_path: Path, action: Path, env: dict[str, str], *phases: str) -> subprocess.CompletedProcess[str]:
    """action-install.sh's phases in a row, as the composite's run steps call them."""
    temp = tmp_path / "temp"
    temp.mkdir(exist_ok=True)
    step_env = {**env, "RUNNER_TEMP": str(temp), "GITHUB_ACTION_PATH": str(action), "RUNNER_OS": "Linux",
                "RUNNER_ARCH": "X64", "GITHUB_OUTPUT": str(tmp_path / "output")}
    script = " && ".join(f'bash "$GITHUB_ACTION_PATH/action-install.sh" {phase}' for phase in phases)
    return subprocess.run(["/bin/bash", "-e", "-c", script], env=step_env, capture_output=True, text=True,
                          timeout=600)


def error_lines(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in done.stdout.splitlines() if line.startswith("::error")]


def test_an_old_python_on_the_runner_is_named_in_one_error(tmp_path: Path) -> None:
    steps = yaml.safe_load((ROOT / "action.yml").read_text())["runs"]["steps"]
    assert "$GITHUB_ACTION_PATH/action-install.sh\" key" in steps[0]["run"]  # the action's files, not the caller's
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "python3"  # a runner image whose python3 is 3.10
    fake.write_text('#!/bin/sh\n[ "$1" = "--version" ] && { echo "Python 3.10.12"; exit 0; }\nexit 1\n')
    fake.chmod(0o755)
    env = {"PATH": os.pathsep.join([str(bin_dir), "/usr/bin", "/bin"])}

    done = run_phases(tmp_path, ROOT, env, "key")

    assert done.returncode == 1
    assert done.stdout.startswith("::error title=llm-pages-deployer::needs Python 3.11 or later on the runner, "
                                  "found Python 3.10.12.")
    assert not (tmp_path / "output").exists()  # stopped before choosing anything
    assert not list((tmp_path / "temp").iterdir())


def test_an_unreachable_index_is_one_error_line_and_installs_nothing(tmp_path: Path, action_dir: Path) -> None:
    env = runner_machine(tmp_path, f"{NOWHERE}/simple/")

    done = run_phases(tmp_path, action_dir, env, "key", "dependencies")

    assert done.returncode == 1
    errors = error_lines(done)
    assert len(errors) == 1, done.stdout
    assert errors[0].startswith("::error title=llm-pages-deployer::cannot install the dependencies uv.lock pins "
                                "(action-requirements.txt) with pip: ERROR: ")
    assert "aiohappyeyeballs==2.7.1" in errors[0] or "No matching distribution" in errors[0]
    assert not (tmp_path / "temp" / "llm-pages-deployer" / "bin" / "deployer").exists()


def test_a_wheel_that_is_not_the_locked_one_is_refused(
    tmp_path: Path, action_dir: Path, index: PackageIndex,
) -> None:
    data = io.BytesIO(index.wheels["six"].read_bytes())
    with zipfile.ZipFile(data, "a") as archive:
        archive.writestr("six_extra.py", "print('not what the lock pinned')\n")
    tampered = tmp_path / "tampered" / index.wheels["six"].name
    tampered.parent.mkdir()
    tampered.write_bytes(data.getvalue())
    other = write_index(tmp_path / "index", {**index.wheels, "six": tampered})

    with other.serve() as url:
        done = run_phases(tmp_path, action_dir, runner_machine(tmp_path, url), "key", "dependencies")

    assert done.returncode == 1
    errors = error_lines(done)
    assert len(errors) == 1, done.stdout
    assert "DO NOT MATCH THE HASHES" in errors[0]
    site = next((tmp_path / "temp" / "llm-pages-deployer" / "lib").glob("python3*/site-packages"))
    assert not list(site.glob("six*"))  # nothing was installed from a set with one wrong file


def _inner(result: RunResult, step_id: str) -> StepResult:
    return next(step for step in result.step("deploy").steps if step.context_name == step_id)


def _installed(result: RunResult) -> dict[str, str]:
    line = next(line for line in result.log if line.startswith("installed="))
    return {canonicalize_name(k): v for k, v in json.loads(line.removeprefix("installed=")).items()}


def test_the_runner_installs_the_lock_without_uv_then_restores_it_from_the_cache(
    tmp_path: Path, index: PackageIndex,
) -> None:
    repo = make_repo(tmp_path / "repo", index, REPORT)

    with index.serve() as url:
        cold = run_install(repo, tmp_path / "runner", tmp_path / "caches", runner_machine(tmp_path, url))

    key = _inner(cold, "install-key").outputs
    assert key["installer"] == "pip", cold.log
    assert re.fullmatch(r"llm-pages-deployer-deps-Linux-X64-cpython3\.\d+\.\d+-pip-[0-9a-f]{32}", key["key"])
    assert f"Cache not found for input keys: {key['key']}" in cold.log
    assert _inner(cold, "install-dependencies").outcome == "success"
    assert f"Cache saved with key: {key['key']}" in cold.log
    assert _inner(cold, "install-product").outcome == "success"
    # the action itself ran: it stopped at the (empty) brief, not at the install
    deploy = _inner(cold, "deploy")
    assert deploy.outcome == "failure"
    assert deploy.annotations[0].message.startswith("brief stage failed: email: is required")
    # exactly uv.lock's runtime dependencies and build backend, and the product; besides them only what `python3 -m
    # venv` bootstraps (pip, and setuptools before Python 3.12); no sandbox
    installed = _installed(cold)
    assert installed.pop("llm-pages-deployer") == "0.1.0"
    assert installed.pop("pip")
    if sys.version_info < (3, 12):
        assert installed.pop("setuptools")
    assert installed == locked_closure(("build",))
    assert any(line.startswith("deployer sandbox: sandbox, dulwich") for line in cold.log)
    assert "sandbox-exit=2" in cold.log

    # the same runner directory again, as every GitHub-hosted runner has the same RUNNER_TEMP; the index is gone, so
    # only the cache can serve
    warm = run_install(repo, tmp_path / "runner", tmp_path / "caches", runner_machine(tmp_path, f"{NOWHERE}/simple/"))

    assert _inner(warm, "install-cache").outputs["cache-hit"] == "true"
    assert f"Cache restored from key: {key['key']}" in warm.log
    assert _inner(warm, "install-dependencies").outcome == "skipped"
    assert _inner(warm, "install-save").outcome == "skipped"
    assert _inner(warm, "install-product").outcome == "success"
    assert _inner(warm, "deploy").outcome == "failure"
    assert _installed(warm) == _installed(cold)
