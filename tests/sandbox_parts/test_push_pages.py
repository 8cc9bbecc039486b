"""A repository's own CI workflow on `push`, with GitHub's Pages actions, through the emulator and the sandbox's
Actions service: the run shows in `actions/runs` for the pushed commit, ruff and python really run, and the Pages
host serves the uploaded artifact (a file that is not in git)."""

from __future__ import annotations

import io
import os
import sys
import tarfile
import time
from pathlib import Path

import pytest
import requests

from action.github_client import open_github
from action.plan import CommitPlan, tree_entries
from action.publish import push_commit
from sandbox.github.artifacts import ArtifactError, artifact_files
from sandbox.runner import Repository, RunOptions, run_workflow
from sandbox.runner.event import push

# A CI workflow that lints, runs a script and deploys the directory to Pages (shared with tests/e2e).
WORKFLOW = (Path(__file__).resolve().parents[1] / "fixtures" / "pages-ci.yml").read_text()
EXECUTE = 'import json\n\nprint(json.dumps({"total": sum(range(5))}))\n'
# The runner machine has the dev tools of this environment (ruff) on PATH, as `uv run` gives them.
TOOLS_PATH = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"


def wait_for(predicate, timeout: float = 240.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError("timed out waiting")


def test_a_pushed_ci_workflow_runs_and_deploys_its_artifact_to_pages(services, github, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    actions = services.start("actions", "sandbox", "actions", "--github", github.url, "--data", str(tmp_path / "a"),
                             env={**os.environ, "GITHUB_TOKEN": github.token, "PATH": TOOLS_PATH})
    auth = {"Authorization": f"token {github.token}"}
    api = f"{github.url}/repos/{github.user}/ci-site"
    assert requests.post(f"{github.url}/user/repos", json={"name": "ci-site", "auto_init": True}, headers=auth,
                         timeout=10).status_code == 201
    assert requests.post(f"{api}/pages", json={"build_type": "workflow"}, headers=auth, timeout=10).status_code == 201
    github.settle(f"{github.user}/ci-site")
    gh = open_github(github.token, github.url)
    repo = gh.get_repo(f"{github.user}/ci-site")
    head = repo.get_git_ref("heads/main").object.sha
    files = {"index.html": b"<!doctype html><html><body>hi</body></html>\n", "execute.py": EXECUTE.encode(),
             ".github/workflows/ci.yml": WORKFLOW.encode()}
    sha = push_commit(gh, repo, CommitPlan("CI site\n", tree_entries(files)), head)

    def finished() -> dict[str, object] | None:
        runs = requests.get(f"{api}/actions/runs", params={"head_sha": sha}, headers=auth, timeout=10).json()
        done = [r for r in runs["workflow_runs"] if r["status"] == "completed"]
        return done[0] if done else None

    run = wait_for(finished)
    log = requests.get(f"{actions.url}/runs/1/log", timeout=10).json()
    text = "\n".join(log["lines"])
    assert run["conclusion"] == "success", text[-3000:]
    assert (run["event"], run["head_sha"], run["path"], run["name"]) == ("push", sha, ".github/workflows/ci.yml", "ci")
    assert "ruff check execute.py" in text and "python execute.py > result.json" in text
    page = requests.get(f"{github.site('ci-site')}result.json", timeout=10)
    assert page.status_code == 200 and page.json() == {"total": 10}
    assert requests.get(github.site("ci-site"), timeout=10).text.startswith("<!doctype html>")
    # result.json was built by the workflow: it is served, and it is not in the repository.
    assert requests.get(f"{api}/contents/result.json", headers=auth, timeout=10).status_code == 404
    latest = requests.get(f"{api}/pages/builds/latest", headers=auth, timeout=10).json()
    assert latest.get("commit") != sha  # a Pages deployment is not a build (deployments_outside_builds, row 6)
    # deploy-pages went through GitHub's Pages deployments API, with the run's GITHUB_TOKEN
    calls = github.sandbox("GET", "requests").json()
    deployments = [c for c in calls if c["route"] == "POST /repos/{owner}/{repo}/pages/deployments"]
    assert [(c["status"], c["user"]) for c in deployments] == [(200, "github-actions[bot]")]
    jobs = requests.get(f"{api}/actions/runs/{run['id']}/jobs", headers=auth, timeout=10).json()["jobs"]
    assert [(j["name"], j["conclusion"]) for j in jobs] == [("build", "success"), ("deploy", "success")]
    # A push without workflows starts nothing: no run appears for it.
    other = push_commit(gh, repo, CommitPlan("No CI\n", tree_entries({"index.html": b"<html></html>\n"})), sha)
    time.sleep(2)
    runs = requests.get(f"{api}/actions/runs", params={"head_sha": other}, headers=auth, timeout=10).json()
    assert runs["total_count"] == 0


def test_pushes_are_recorded_with_before_after_and_whether_workflows_exist(github) -> None:  # type: ignore[no-untyped-def]
    auth = {"Authorization": f"token {github.token}"}
    requests.post(f"{github.url}/user/repos", json={"name": "p", "auto_init": True}, headers=auth, timeout=10)
    github.settle(f"{github.user}/p")
    gh = open_github(github.token, github.url)
    repo = gh.get_repo(f"{github.user}/p")
    head = repo.get_git_ref("heads/main").object.sha
    first = push_commit(gh, repo, CommitPlan("a\n", tree_entries({"a.txt": b"a"})), head)
    second = push_commit(gh, repo, CommitPlan("b\n", tree_entries({".github/workflows/x.yml": b"on: push\n"})), first)
    pushes = github.sandbox("GET", "pushes").json()
    assert [(p["ref"], p["before"], p["after"], p["has_workflows"], p["sender"]) for p in pushes] == [
        ("refs/heads/main", head, first, False, github.user), ("refs/heads/main", first, second, True, github.user)]


def test_a_pages_artifact_holds_regular_files_only() -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        data = b"hello"
        info = tarfile.TarInfo("./index.html")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("./secret")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        archive.addfile(link)
    with pytest.raises(ArtifactError, match="secret is a link"):
        artifact_files(buffer.getvalue())


def test_pages_actions_refuse_what_github_refuses(github, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    auth = {"Authorization": f"token {github.token}"}
    for name in ("with-pages", "no-pages"):
        requests.post(f"{github.url}/user/repos", json={"name": name, "auto_init": True}, headers=auth, timeout=10)
    requests.post(f"{github.url}/repos/{github.user}/with-pages/pages", json={"build_type": "workflow"},
                  headers=auth, timeout=10)
    workflow = WORKFLOW.replace("  id-token: write\n", "")
    machine = {"PATH": TOOLS_PATH, "GITHUB_API_URL": github.url, "GITHUB_SERVER_URL": github.server_url}
    options = RunOptions(env=machine, token=github.token, runner_root=tmp_path / "runner")

    def run(name: str) -> str:
        repo_dir = tmp_path / name
        (repo_dir / ".github/workflows").mkdir(parents=True)
        (repo_dir / ".github/workflows/ci.yml").write_text(workflow)
        (repo_dir / "execute.py").write_text(EXECUTE)
        repo = Repository(f"{github.user}/{name}", api_url=github.url, server_url=github.server_url)
        payload = push(repo, "refs/heads/main", "0" * 40, "1" * 40, github.user)
        result = run_workflow(repo_dir, ".github/workflows/ci.yml", "push", payload, options=options)
        assert result.conclusion == "failure"
        return "\n".join(result.log)

    assert 'Ensure GITHUB_TOKEN has permission "id-token: write".' in run("with-pages")
    assert "Get Pages site failed. Please verify that the repository has Pages enabled" in run("no-pages")


FAILING = """name: checks
on: push
jobs:
  check:
    runs-on: ubuntu-latest
    steps:
      - run: echo "::error title=Broken::the build broke" && exit 1
"""


def test_a_failed_run_shows_its_error_annotation_and_a_job_token_push_starts_no_run(  # type: ignore[no-untyped-def]
        services, github, tmp_path: Path) -> None:
    actions = services.start("actions", "sandbox", "actions", "--github", github.url, "--data", str(tmp_path / "a"),
                             env={**os.environ, "GITHUB_TOKEN": github.token, "PATH": TOOLS_PATH})
    auth = {"Authorization": f"token {github.token}"}
    api = f"{github.url}/repos/{github.user}/failing"
    requests.post(f"{github.url}/user/repos", json={"name": "failing", "auto_init": True}, headers=auth, timeout=10)
    github.settle(f"{github.user}/failing")
    gh = open_github(github.token, github.url)
    repo = gh.get_repo(f"{github.user}/failing")
    head = repo.get_git_ref("heads/main").object.sha
    sha = push_commit(gh, repo, CommitPlan("checks\n", tree_entries({".github/workflows/checks.yml":
                                                                       FAILING.encode()})), head)

    def finished() -> dict[str, object] | None:
        runs = requests.get(f"{api}/actions/runs", params={"head_sha": sha}, headers=auth, timeout=10).json()
        done = [r for r in runs["workflow_runs"] if r["status"] == "completed"]
        return done[0] if done else None

    run = wait_for(finished)
    assert run["conclusion"] == "failure", requests.get(f"{actions.url}/runs/1/log", timeout=10).text[-2000:]
    job = requests.get(f"{api}/actions/runs/{run['id']}/jobs", headers=auth, timeout=10).json()["jobs"][0]
    assert (job["name"], job["conclusion"]) == ("check", "failure")
    notes = requests.get(f"{api}/check-runs/{job['id']}/annotations", headers=auth, timeout=10).json()
    assert [(n["annotation_level"], n["title"], n["message"]) for n in notes] == [
        ("failure", "Broken", "the build broke"), ("failure", "", "Process completed with exit code 1.")]
    # GitHub: a push made with a workflow's GITHUB_TOKEN creates no run (the emulator marks it, the service obeys).
    github.sandbox("PATCH", "settings", json={"job_token_pushes_are_silent": True})
    job_token = github.sandbox("POST", "job-tokens", json={"owner": github.user, "repo": "failing"}).json()["token"]
    bot = {"Authorization": f"token {job_token}"}
    base = requests.get(f"{api}/git/commits/{sha}", headers=bot, timeout=10).json()["tree"]["sha"]
    tree = requests.post(f"{api}/git/trees", headers=bot, timeout=10, json={"base_tree": base, "tree": [
        {"path": "notes.txt", "mode": "100644", "type": "blob", "content": "by the bot"}]}).json()["sha"]
    silent = requests.post(f"{api}/git/commits", headers=bot, timeout=10,
                           json={"message": "by the bot", "tree": tree, "parents": [sha]}).json()["sha"]
    moved = requests.patch(f"{api}/git/refs/heads/main", headers=bot, json={"sha": silent}, timeout=10)
    assert moved.status_code == 200
    assert github.sandbox("GET", "pushes").json()[-1]["after"] == silent
    time.sleep(2)
    runs = requests.get(f"{api}/actions/runs", params={"head_sha": silent}, headers=auth, timeout=10).json()
    assert runs["total_count"] == 0
