"""A run's title (`display_title`) as GitHub sets it when it creates the run: `run-name` over `github` and `inputs`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sandbox.runner.run import dispatch_titles
from sandbox.runner.workflow import WorkflowError

JOBS = "jobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: 'true'\n"


def repo(tmp_path: Path, **workflows: str) -> Path:
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    for name, head in workflows.items():
        (folder / f"{name}.yml").write_text(head + JOBS)
    return tmp_path


def record(kind: str = "repository_dispatch", **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "owner": "octo", "repo": "site", "event_type": "go", "client_payload": {"id": "b-7"},
            "workflow_id": None, "ref": None, "inputs": None, "sender": "octo", **extra}


def test_run_name_is_evaluated_with_the_event_of_the_dispatch(tmp_path: Path) -> None:
    root = repo(tmp_path, titled="name: Titled\nrun-name: deploy ${{ github.event.client_payload.id }} by "
                                 "${{ github.actor }}\non:\n  repository_dispatch:\n    types: [go]\n")
    assert dispatch_titles(root, record()) == [(".github/workflows/titled.yml", "deploy b-7 by octo")]


def test_a_pasted_input_titles_a_workflow_dispatch(tmp_path: Path) -> None:
    root = repo(tmp_path, manual="run-name: manual ${{ inputs.what }}\non:\n  workflow_dispatch:\n    inputs:\n"
                                 "      what:\n        type: string\n")
    titles = dispatch_titles(root, record("workflow_dispatch", workflow_id="manual.yml", ref="main",
                                          inputs={"what": "round 2"}))
    assert titles == [(".github/workflows/manual.yml", "manual round 2")]


def test_without_run_name_the_title_is_the_workflows_name_and_only_matching_workflows_count(tmp_path: Path) -> None:
    root = repo(tmp_path, plain="name: Plain\non: repository_dispatch\n",
                other="name: Other\non:\n  repository_dispatch:\n    types: [something-else]\n")
    assert dispatch_titles(root, record()) == [(".github/workflows/plain.yml", "Plain")]


def test_a_run_name_that_cannot_be_evaluated_is_an_error_naming_it(tmp_path: Path) -> None:
    root = repo(tmp_path, broken="run-name: ${{ fromJSON('not json') }}\non: repository_dispatch\n")
    with pytest.raises(WorkflowError, match="run-name"):
        dispatch_titles(root, record())
