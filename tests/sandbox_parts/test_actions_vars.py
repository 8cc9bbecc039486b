"""The sandbox's Actions service gives workflows the repository variables it was started with (`--var`), as GitHub
gives a repository's variables to its runs (deploy.yml reads DEPLOYER_DEADLINE_MINUTES from them)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from sandbox.actions import ActionsConfig, ActionsService, RunRecord
from sandbox.procs import deployer_argv


def test_the_variables_reach_every_run(tmp_path: Path) -> None:
    service = ActionsService(ActionsConfig(api_url="http://127.0.0.1:9", server_url="http://127.0.0.1:9",
                                           token="t", secrets={"S": "s"}, work_dir=tmp_path,
                                           variables={"DEPLOYER_DEADLINE_MINUTES": "30"}))
    try:
        options = service.run_options(RunRecord(1, {"owner": "o", "repo": "r"}), tmp_path / "runner", "job")
    finally:
        service.pool.shutdown(wait=False)
    assert dict(options.vars) == {"DEPLOYER_DEADLINE_MINUTES": "30"} and dict(options.secrets) == {"S": "s"}


def test_a_variable_without_a_value_is_one_clear_line(tmp_path: Path) -> None:
    done = subprocess.run(deployer_argv("sandbox", "actions", "--github", "http://127.0.0.1:9", "--data",
                                        str(tmp_path), "--var", "DEPLOYER_DEADLINE_MINUTES"),
                          env={**os.environ, "GITHUB_TOKEN": "t"}, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stdout.strip() == "error: --var 'DEPLOYER_DEADLINE_MINUTES': give it as NAME=VALUE"
