"""Who may do what: a second user, private repositories, organizations, rate limits, workflow dispatch and runs."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

from sandbox.procs import deployer_argv
from tests.conftest import GitHub, Services, start_github
from tests.github.helpers import call, make_repo

WORKFLOW = b"on:\n  workflow_dispatch:\n    inputs:\n      brief: {}\njobs: {}\n"


def test_other_user_cannot_write(gh: GitHub) -> None:
    make_repo(gh, "mine")
    other = gh.other_token
    seen = call(gh, "GET", "/repos/sandbox/mine", other)
    assert seen.status_code == 200
    assert seen.json()["permissions"]["push"] is False
    head = call(gh, "GET", "/repos/sandbox/mine/git/ref/heads/main", other).json()["object"]["sha"]
    for method, path, body in [
        ("PUT", "contents/x.txt", {"message": "m", "content": "eA=="}),
        ("POST", "git/blobs", {"content": "x"}),
        ("POST", "git/refs", {"ref": "refs/heads/evil", "sha": head}),
        ("PATCH", "git/refs/heads/main", {"sha": head, "force": True}),
        ("POST", "dispatches", {"event_type": "e"}),
        ("POST", "pages", {"source": {"branch": "main"}}),
    ]:
        answer = call(gh, method, f"/repos/sandbox/mine/{path}", other, json=body)
        assert answer.status_code == 404, (path, answer.status_code)
        assert answer.json()["message"] == "Not Found"
    for method in ("PATCH", "DELETE"):
        answer = call(gh, method, "/repos/sandbox/mine", other, json={"description": "x"})
        assert answer.status_code == 403
        assert answer.json()["message"] == "Must have admin rights to Repository."
    assert call(gh, "GET", "/repos/sandbox/mine").status_code == 200


def test_private_repository_is_invisible_to_others(gh: GitHub, tmp_path: Path) -> None:
    repo = make_repo(gh, "secret", private=True)
    assert repo["private"] is True
    assert repo["visibility"] == "private"
    assert call(gh, "GET", "/repos/sandbox/secret", gh.other_token).status_code == 404
    assert call(gh, "GET", "/repos/sandbox/secret/contents/README.md", gh.other_token).status_code == 404
    anonymous = subprocess.run(["git", "clone", "-q", repo["clone_url"], str(tmp_path / "a")], capture_output=True,
                               env={"GIT_TERMINAL_PROMPT": "0", "PATH": "/usr/bin:/bin"})
    assert anonymous.returncode != 0
    with_token = repo["clone_url"].replace("http://", f"http://x-access-token:{gh.token}@")
    subprocess.run(["git", "clone", "-q", with_token, str(tmp_path / "b")], check=True, capture_output=True)
    assert (tmp_path / "b" / "README.md").read_text() == "# secret\n"


def test_workflow_dispatch_and_runs(gh: GitHub) -> None:
    make_repo(gh, "wf")
    put = call(gh, "PUT", "/repos/sandbox/wf/contents/.github/workflows/deploy.yml",
               json={"message": "wf", "content": base64.b64encode(WORKFLOW).decode()})
    assert put.status_code == 201
    path = "/repos/sandbox/wf/actions/workflows/deploy.yml/dispatches"
    assert call(gh, "POST", path, json={"ref": "main", "inputs": {"brief": "{}"}}).status_code == 204
    detailed = call(gh, "POST", path, json={"ref": "main", "return_run_details": True})
    assert detailed.status_code == 200
    run_id = detailed.json()["workflow_run_id"]
    assert call(gh, "POST", path, json={"inputs": {}}).status_code == 422
    assert call(gh, "POST", path, json={"ref": "nope"}).status_code == 422
    many = {f"i{n}": "x" for n in range(26)}
    assert call(gh, "POST", path, json={"ref": "main", "inputs": many}).status_code == 422
    assert call(gh, "POST", "/repos/sandbox/wf/actions/workflows/other.yml/dispatches",
                json={"ref": "main"}).status_code == 404
    records = [d for d in gh.sandbox("GET", "dispatches").json() if d["repo"] == "wf"]
    assert [(d["kind"], d["ref"], d["inputs"]) for d in records] == [
        ("workflow_dispatch", "main", {"brief": "{}"}), ("workflow_dispatch", "main", {})]
    assert records[1]["run_id"] == run_id

    registered = gh.sandbox("POST", "runs", json={"owner": "sandbox", "repo": "wf", "event": "repository_dispatch",
                                                   "status": "in_progress", "head_branch": "main"})
    assert registered.status_code == 201
    new_id = registered.json()["id"]
    assert gh.sandbox("PATCH", f"runs/{new_id}", json={"status": "completed", "conclusion": "success"}).ok
    runs = call(gh, "GET", "/repos/sandbox/wf/actions/runs").json()
    assert runs["total_count"] == 2
    assert [(r["id"], r["status"], r["conclusion"]) for r in runs["workflow_runs"]] == [
        (new_id, "completed", "success"), (run_id, "queued", None)]
    only = call(gh, "GET", "/repos/sandbox/wf/actions/runs", params={"event": "workflow_dispatch"}).json()
    assert [r["id"] for r in only["workflow_runs"]] == [run_id]
    assert gh.sandbox("POST", "runs", json={"owner": "sandbox", "repo": "nope"}).status_code == 404
    assert gh.sandbox("PATCH", "runs/1", json={}).status_code == 404


def test_organizations_and_rate_limits(tmp_path: Path) -> None:
    services = Services(tmp_path / "logs")
    # No creation lag: waiting it out would spend the 12 requests of the primary limit this test counts.
    gh = start_github(services, tmp_path / "gh", "--org", "team=sandbox", "--content-limit", "4",
                      "--rate-limit", "12", "--creation-lag", "0")
    try:
        made = call(gh, "POST", "/orgs/team/repos", json={"name": "site", "auto_init": True})
        assert made.status_code == 201
        assert made.json()["owner"]["login"] == "team"
        assert made.json()["owner"]["type"] == "Organization"
        assert call(gh, "POST", "/orgs/team/repos", gh.other_token, json={"name": "x"}).status_code == 403
        assert call(gh, "POST", "/orgs/nobody/repos", json={"name": "x"}).status_code == 404
        assert call(gh, "POST", "/repos/team/site/dispatches", json={"event_type": "a"}).status_code == 204
        third = call(gh, "POST", "/repos/team/site/dispatches", json={"event_type": "b"})
        assert third.status_code == 204
        limited = call(gh, "POST", "/repos/team/site/dispatches", json={"event_type": "c"})
        assert limited.status_code == 403
        assert "secondary rate limit" in limited.json()["message"]
        assert "retry-after" not in limited.headers  # as GitHub often answers it (gofri/go-github-ratelimit#38)
        assert gh.sandbox("PATCH", "settings", json={"secondary_without_retry_after": False}).status_code == 200
        told = call(gh, "POST", "/repos/team/site/dispatches", json={"event_type": "c"})
        assert told.status_code == 403 and int(told.headers["retry-after"]) >= 1
        assert call(gh, "GET", "/repos/team/site").status_code == 200  # reads are not content-creating
        assert call(gh, "POST", "/repos/team/site/dispatches", gh.other_token,
                    json={"event_type": "d"}).status_code == 404  # another user has their own budget
        statuses = [call(gh, "GET", "/user").status_code for _ in range(8)]
        assert statuses[-1] == 403
        exhausted = call(gh, "GET", "/user")
        assert exhausted.headers["x-ratelimit-remaining"] == "0"
        assert "rate limit exceeded for user ID" in exhausted.json()["message"]
        assert call(gh, "GET", "/rate_limit").json()["rate"]["remaining"] == 0
        assert gh.sandbox("GET", "spec-violations").json() == []
    finally:
        assert services.stop_all() == {"github": 0}


def test_restart_on_the_same_data_keeps_repositories(tmp_path: Path) -> None:
    services = Services(tmp_path / "logs")
    first = start_github(services, tmp_path / "data")
    made = make_repo(first, "kept")
    first.settle("sandbox/kept")
    head = call(first, "GET", "/repos/sandbox/kept/commits/main").json()["sha"]
    assert services.stop_all() == {"github": 0}
    again = Services(tmp_path / "logs2")
    second = start_github(again, tmp_path / "data")
    try:
        got = call(second, "GET", "/repos/sandbox/kept")
        assert got.status_code == 200
        assert got.json()["default_branch"] == made["default_branch"]
        assert call(second, "GET", "/repos/sandbox/kept/commits/main").json()["sha"] == head
        assert call(second, "POST", "/user/repos", json={"name": "kept"}).status_code == 422
        assert second.sandbox("GET", "spec-violations").json() == []
    finally:
        assert again.stop_all() == {"github": 0}


def test_command_line_mistakes_are_one_clear_line(tmp_path: Path) -> None:
    for args, expected in [
        (["--user", "a", "--user", "b", "--token", "t"], "one --token for each --user"),
        (["--user", "a", "--token", "t", "--org", "team=ghost"], "--org 'team=ghost'"),
        (["--user", "a", "--token", "t", "--user", "b", "--token", "t"], "tokens distinct"),
    ]:
        done = subprocess.run(deployer_argv("sandbox", "github", *args), capture_output=True, text=True, timeout=60)
        assert done.returncode == 2
        assert done.stdout == ""
        assert done.stderr.strip().splitlines()[-1].startswith("error: "), done.stderr
        assert expected in done.stderr


def test_a_busy_port_is_one_clear_line(gh: GitHub) -> None:
    port = gh.url.rsplit(":", 1)[1]
    done = subprocess.run(deployer_argv("sandbox", "github", "--port", port), capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 1
    assert "cannot listen" in done.stderr.strip().splitlines()[-1]


def test_workflow_files_need_the_workflow_scope_and_the_ideal_world_names_it(tmp_path: Path) -> None:
    services = Services(tmp_path / "logs")
    # Ideal: the named 403 this test reads; GitHub's bare 404 for it has its test in test_github_realism.py.
    gh = start_github(services, tmp_path / "gh", "--scopes", "repo", world=("--ideal",))
    try:
        make_repo(gh, "noscope")
        gh.settle("sandbox/noscope")
        assert call(gh, "GET", "/user").headers["X-OAuth-Scopes"] == "repo"
        path = "/repos/sandbox/noscope/contents/.github/workflows/ci.yml"
        refused = call(gh, "PUT", path, json={"message": "wf", "content": base64.b64encode(WORKFLOW).decode()})
        assert refused.status_code == 403
        assert "without `workflow` scope" in refused.json()["message"]
        assert ".github/workflows/ci.yml" in refused.json()["message"]
        head = call(gh, "GET", "/repos/sandbox/noscope/git/ref/heads/main").json()["object"]["sha"]
        base = call(gh, "GET", f"/repos/sandbox/noscope/git/commits/{head}").json()["tree"]["sha"]
        tree = call(gh, "POST", "/repos/sandbox/noscope/git/trees", json={"base_tree": base, "tree": [
            {"path": ".github/workflows/ci.yml", "mode": "100644", "type": "blob", "content": "on: push\n"}]})
        assert tree.status_code == 403 and "without `workflow` scope" in tree.json()["message"]
        assert call(gh, "GET", "/repos/sandbox/noscope/git/ref/heads/main").json()["object"]["sha"] == head
        other = call(gh, "PUT", "/repos/sandbox/noscope/contents/index.html",
                     json={"message": "page", "content": base64.b64encode(b"ok").decode()})
        assert other.status_code == 201
        assert gh.sandbox("GET", "spec-violations").json() == []
    finally:
        assert services.stop_all() == {"github": 0}
