"""Helpers for the local runner's tests (a unique module name: every test folder has its own conftest)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from sandbox.runner import Repository, RunOptions, load_workflow, repository_dispatch, workflow_dispatch

FIXTURE_REPO = Path(__file__).parent / "fixtures" / "repo"
REPO = Repository("octo/site", api_url="http://127.0.0.1:9/api", server_url="http://127.0.0.1:9")


def make_repo(target: Path) -> Path:
    """fixtures/repo as a one-commit git repository on `main`, like a checked-out default branch."""
    shutil.copytree(FIXTURE_REPO, target)
    git = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=target, check=True)
    subprocess.run([*git, "add", "-A"], cwd=target, check=True)
    subprocess.run([*git, "commit", "-qm", "fixture"], cwd=target, check=True)
    return target


def head(repo: Path) -> str:
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True,
                          check=True).stdout.strip()


def deploy_dispatch(task: str = "my-task", event_type: str = "deploy-brief") -> dict[str, Any]:
    return repository_dispatch(REPO, event_type, {"brief": {"task": task, "round": 1}}, "octo")


def manual(repo: Path, workflow: str, inputs: dict[str, Any] | None = None) -> dict[str, Any]:
    return workflow_dispatch(REPO, load_workflow(repo, workflow), "main", inputs, "octo")


def machine_env(**extra: str) -> dict[str, str]:
    """A runner machine environment pointing GitHub's URLs at a (fake) emulator."""
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    return {**env, "GITHUB_API_URL": REPO.api_url, "GITHUB_SERVER_URL": REPO.server_url, **extra}


def options(**kwargs: Any) -> RunOptions:
    kwargs.setdefault("env", machine_env())
    kwargs.setdefault("kill_grace", 0.5)
    return RunOptions(**kwargs)
