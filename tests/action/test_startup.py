"""`deployer run` starts lean (issue 16): PyGithub comes with the stages that talk to GitHub, Playwright with the
browser, openpyxl with a spreadsheet check; none of them is imported before the first stage.

Measured with `python -X importtime` in a fresh interpreter, as a module list, never as a timing. The budget is a
count of modules: 428 on Python 3.11 with this project's lock (PyGithub alone added about 250, Playwright about
110), so 520 leaves room for small additions and still fails when a heavy dependency comes back.
"""

from __future__ import annotations

import os
import subprocess
import sys

STAGE_ONLY = ("github", "playwright", "jwt", "cryptography", "openpyxl")
MODULE_BUDGET = 520


def imported(*args: str, env: dict[str, str] | None = None) -> tuple[list[str], subprocess.CompletedProcess[str]]:
    """Every module `python -X importtime ARGS` imported (interpreter start-up included), and the process."""
    done = subprocess.run([sys.executable, "-X", "importtime", *args], capture_output=True, text=True, timeout=120,
                          env=env)
    modules = [line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")]
    return modules[1:], done  # the first row is importtime's header


def stage_only(modules: list[str]) -> list[str]:
    return sorted({m for m in modules if m.split(".", 1)[0] in STAGE_ONLY})


def test_importing_the_action_imports_no_stage_only_dependency() -> None:
    modules, done = imported("-c", "import action.main")

    assert done.returncode == 0, done.stderr[-2000:]
    assert "action.main" in modules
    assert stage_only(modules) == []
    assert len(modules) <= MODULE_BUDGET, f"{len(modules)} modules imported, budget {MODULE_BUDGET}"


def test_deployer_run_reaches_its_first_stage_without_them() -> None:
    """`deployer run` (the command action.yml runs; its console script calls the same `deployer.cli:main`) runs the
    brief stage, and fails it on a brief with only a task, with no GitHub client, browser or spreadsheet reader
    imported: the failure path does not pull them in either."""
    env = {"PATH": os.environ.get("PATH", ""), "DEPLOYER_GITHUB_TOKEN": "token-for-start-up-test",
           "DEPLOYER_OPENROUTER_API_KEY": "key-for-start-up-test", "DEPLOYER_BRIEF": '{"task": "lean"}'}
    modules, done = imported("-m", "deployer", "run", env=env)

    assert done.returncode == 1
    assert "::group::brief" in done.stdout and "brief stage failed: email: is required" in done.stdout
    assert "deployer.cli" in modules and "action.verify.verifier" in modules  # (action.main itself is imported
    # with importlib, which importtime does not list)
    assert stage_only(modules) == []
    assert len(modules) <= MODULE_BUDGET, f"{len(modules)} modules imported, budget {MODULE_BUDGET}"
