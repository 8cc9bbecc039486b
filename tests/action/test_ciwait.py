"""Waiting for the repository's own workflow runs on our commit, and Pages switched to workflow deployments,
against the GitHub emulator."""

from __future__ import annotations

import time

import pytest

from action.ciwait import CIError, wait_for_runs
from action.github_client import open_github
from action.pages import enable_pages
from action.plan import CommitPlan, tree_entries
from action.publish import push_commit

CI = ".github/workflows/ci.yml"


def setup_repo(github):  # type: ignore[no-untyped-def]
    gh = open_github(github.token, github.url)
    repo = gh.get_user().create_repo("ci-wait", auto_init=True)
    github.settle(repo.full_name)
    head = repo.get_git_ref("heads/main").object.sha
    sha = push_commit(gh, repo, CommitPlan("x\n", tree_entries({"index.html": b"<html></html>\n"})), head)
    return gh, repo, sha


def add_run(github, sha: str, path: str, **fields: object) -> int:  # type: ignore[no-untyped-def]
    body = {"owner": github.user, "repo": "ci-wait", "event": "push", "head_sha": sha, "head_branch": "main",
            "path": path, "name": path.rsplit("/", 1)[-1], **fields}
    return int(github.sandbox("POST", "runs", json=body).json()["id"])


def test_waits_for_every_push_workflow_and_names_a_failed_one(github) -> None:  # type: ignore[no-untyped-def]
    gh, repo, sha = setup_repo(github)
    add_run(github, "0" * 40, CI, status="completed", conclusion="success")  # another commit's run
    run = add_run(github, sha, CI, status="in_progress")
    add_run(github, sha, ".github/workflows/lint.yml", status="completed", conclusion="success")
    seen: list[str] = []

    def finish(_seconds: float) -> None:
        github.sandbox("PATCH", f"runs/{run}", json={"status": "completed", "conclusion": "success"})
        time.sleep(0.05)

    done = wait_for_runs(gh, repo, sha, [CI, ".github/workflows/lint.yml"], deadline=time.time() + 60,
                         sleep=finish, log=seen.append)
    assert done[CI]["conclusion"] == "success" and done[CI]["id"] == run
    assert f"workflow {CI} on {sha[:12]}: in_progress" in seen

    github.sandbox("PATCH", f"runs/{run}", json={"conclusion": "failure"})
    with pytest.raises(CIError, match=rf"workflow {CI} concluded failure on {sha[:12]}"):
        wait_for_runs(gh, repo, sha, [CI], deadline=time.time() + 60)
    with pytest.raises(CIError, match=r"did not finish before the deadline .*never\.yml: not started"):
        wait_for_runs(gh, repo, sha, [".github/workflows/never.yml"], deadline=time.time() + 0.5)


def test_pages_from_workflows_on_a_new_or_a_branch_built_site(github) -> None:  # type: ignore[no-untyped-def]
    gh, repo, _ = setup_repo(github)
    assert enable_pages(gh, repo, known_new=False)["build_type"] == "legacy"
    assert enable_pages(gh, repo, known_new=False, build_type="workflow")["build_type"] == "workflow"
    assert enable_pages(gh, repo, known_new=False, build_type="workflow")["build_type"] == "workflow"
    other = gh.get_user().create_repo("ci-new", auto_init=True)
    assert enable_pages(gh, other, known_new=True, build_type="workflow")["build_type"] == "workflow"
    assert enable_pages(gh, other, known_new=False, build_type=None)["build_type"] == "workflow"  # left as it is
