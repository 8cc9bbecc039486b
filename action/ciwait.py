"""Wait for the repository's own workflows to finish on our commit, before the page counts as deployed.

When the generated site has workflows that run on `push` (the brief asked for CI, perhaps one that deploys Pages),
GitHub starts a run of each for our commit. We poll `GET /repos/{o}/{r}/actions/runs?head_sha=<commit>&event=push`
until every expected workflow (by its `path`) has a completed run: all `success` returns the runs; any other
conclusion, or the deadline, is a `CIError` naming the workflow and the run's page. Only then does the action
wait for Pages and notify, so a grader who looks at Actions for the notified commit finds a green run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any

from deployer.retry import backoff

if TYPE_CHECKING:  # PyGithub is imported when a GitHub stage runs (action/publish.py), not at start-up
    from github import Github
    from github.Repository import Repository


class CIError(RuntimeError):
    """The repository's workflows did not pass on our commit; the subclass names why."""


class WorkflowFailed(CIError):
    """A workflow run on our commit concluded other than success."""


class WorkflowsUnfinished(CIError):
    """Some workflow runs on our commit did not finish before the deadline."""


def wait_for_runs(
    gh: Github, repo: Repository, commit_sha: str, paths: Collection[str], *, deadline: float,
    clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep,
    log: Callable[[str], None] = lambda _message: None,
) -> dict[str, dict[str, Any]]:
    """path -> the completed, successful run of that workflow on `commit_sha`."""
    wanted = set(paths)
    delays = backoff(1.0, 5.0, 1.5)
    seen: dict[str, str] = {}
    while True:
        _, answer = gh.requester.requestJsonAndCheck(
            "GET", f"{repo.url}/actions/runs", parameters={"head_sha": commit_sha, "event": "push", "per_page": 100})
        runs: dict[str, dict[str, Any]] = {}
        for run in answer.get("workflow_runs", []):  # newest first: keep the latest run of each workflow
            if run.get("path") in wanted and run.get("head_sha") == commit_sha:
                runs.setdefault(str(run["path"]), run)
        for path, run in runs.items():
            state = f"{run.get('status')}/{run.get('conclusion')}"
            if seen.get(path) != state:
                seen[path] = state
                log(f"workflow {path} on {commit_sha[:12]}: {run.get('status')}"
                    + (f", {run.get('conclusion')}" if run.get("conclusion") else ""))
        done = {p: r for p, r in runs.items() if r.get("status") == "completed"}
        failed = {p: r for p, r in done.items() if r.get("conclusion") != "success"}
        if failed:
            path, run = sorted(failed.items())[0]
            raise WorkflowFailed(f"workflow {path} concluded {run.get('conclusion')} on {commit_sha[:12]}: "
                                 f"{run.get('html_url')}")
        if set(done) == wanted:
            return done
        wait = next(delays)
        if clock() + wait > deadline:
            missing = sorted(wanted - set(done))
            states = ", ".join(f"{p}: {seen.get(p, 'not started')}" for p in missing)
            raise WorkflowsUnfinished(f"workflow run(s) of {', '.join(missing)} on {commit_sha[:12]} did not finish "
                                      f"before the deadline ({states})")
        sleep(wait)
