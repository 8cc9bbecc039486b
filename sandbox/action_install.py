"""action.yml's install run by the local runner, on a runner whose only network is a local package index.

The repository holds this project as a runner checks it out (pinned to the index's wheels, `sandbox.pypi`) and one
workflow that runs `uses: ./` with an empty brief, so `deployer run` stops at once after the install. The
benchmark (`bench.install`) times the install steps; the tests (`tests/test_action_install.py`) check what they did.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

from sandbox.pypi import NOWHERE, PackageIndex, PackageIndexError, index_env, pinned_action, runner_path
from sandbox.runner import RunOptions, RunResult, load_workflow, run_workflow, workflow_dispatch
from sandbox.runner.event import Repository
from sandbox.world import project_files

WORKFLOW_PATH = ".github/workflows/install.yml"
WORKFLOW = """\
name: Install
on: workflow_dispatch
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - id: deploy
        uses: ./
        with:
          github-token: not-a-real-token
          openrouter-api-key: not-a-real-key
          verify: "false"
          brief: "{}"
"""
FIRST_STEP, DEPLOY_STEP = "Check Python and choose the installer", "Deploy the brief"


def make_repo(target: Path, index: PackageIndex, later_steps: str = "") -> Path:
    """The project pinned to `index`, with the install workflow (and `later_steps`, YAML at the steps' indent)."""
    pinned_action(target, project_files(), index)
    (target / WORKFLOW_PATH).parent.mkdir(parents=True, exist_ok=True)
    (target / WORKFLOW_PATH).write_text(WORKFLOW + later_steps)
    git = ["git", "-c", "user.name=sandbox", "-c", "user.email=sandbox@example.com"]
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "llm-pages-deployer"]):
        subprocess.run([*git, *args], cwd=target, check=True, capture_output=True)
    return target


def run_install(repo: Path, runner: Path, caches: Path, machine: Mapping[str, str],
                on_log: Callable[[str], None] | None = None) -> RunResult:
    """One run on the runner directory `runner` (the same one twice is what GitHub's hosted runners look like:
    every one has the same RUNNER_TEMP) with the Actions cache store `caches`."""
    github = Repository("sandbox/llm-pages-deployer", api_url=NOWHERE, server_url=NOWHERE)
    payload = workflow_dispatch(github, load_workflow(repo, WORKFLOW_PATH), "main", {}, "sandbox")
    options = RunOptions(env={**machine, "GITHUB_API_URL": NOWHERE, "GITHUB_SERVER_URL": NOWHERE}, runner_root=runner,
                         cache_dir=caches, on_log=on_log, kill_grace=0.5)
    return run_workflow(repo, WORKFLOW_PATH, "workflow_dispatch", payload, options=options)


def machine(root: Path, index_url: str, *, with_uv: bool = False) -> dict[str, str]:
    """A runner with Python 3.11+, bash and the system's tools, uv only `with_uv` (its cache under `root`), and a
    network that reaches the index at `index_url` alone."""
    (root / "home").mkdir(parents=True, exist_ok=True)
    env = {"PATH": runner_path(root / "bin"), "HOME": str(root / "home"), "LANG": "C.UTF-8", **index_env(index_url)}
    if with_uv:
        uv = shutil.which("uv")
        if uv is None:
            raise PackageIndexError("uv is not on PATH here (run this with `uv run`)")
        link = root / "uv-bin" / "uv"
        link.parent.mkdir(exist_ok=True)
        if not link.exists():
            link.symlink_to(uv)
        env.update(PATH=f"{env['PATH']}{os.pathsep}{link.parent}", UV_CACHE_DIR=str(root / "uv-cache"))
    return env
