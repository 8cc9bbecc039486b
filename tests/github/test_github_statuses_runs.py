"""Commit statuses (how a delivered notification is recorded) and a workflow run with its jobs and check-run
annotations (what a status page shows of a failed run), through real sockets."""

from __future__ import annotations

from tests.conftest import GitHub
from tests.github.helpers import call, make_repo


def test_commit_statuses_and_the_combined_state(gh: GitHub) -> None:
    make_repo(gh, "statuses")
    head = call(gh, "GET", "/repos/sandbox/statuses/commits/main").json()["sha"]
    api = "/repos/sandbox/statuses"
    assert call(gh, "GET", f"{api}/commits/main/status").json()["state"] == "pending"  # none yet
    created = call(gh, "POST", f"{api}/statuses/{head}", json={
        "state": "pending", "context": "deployer/notified", "description": "sending", "target_url": None})
    assert created.status_code == 201
    assert created.headers["Location"].endswith(f"{api}/statuses/{head}")
    status = created.json()
    assert (status["state"], status["context"], status["creator"]["login"]) == ("pending", "deployer/notified",
                                                                                 "sandbox")
    call(gh, "POST", f"{api}/statuses/{head}", json={"state": "success", "context": "deployer/notified",
                                                     "description": "delivered to the evaluator"})
    call(gh, "POST", f"{api}/statuses/{head}", json={"state": "success"})  # context "default"
    listed = call(gh, "GET", f"{api}/commits/main/statuses").json()
    assert [(s["state"], s["context"]) for s in listed] == [
        ("success", "default"), ("success", "deployer/notified"), ("pending", "deployer/notified")]  # newest first
    combined = call(gh, "GET", f"{api}/commits/{head}/status").json()
    assert (combined["state"], combined["sha"], combined["total_count"]) == ("success", head, 2)
    assert {s["context"]: s["description"] for s in combined["statuses"]}["deployer/notified"] == \
        "delivered to the evaluator"
    call(gh, "POST", f"{api}/statuses/{head}", json={"state": "error", "context": "ci"})
    assert call(gh, "GET", f"{api}/commits/main/status").json()["state"] == "failure"
    bad_state = call(gh, "POST", f"{api}/statuses/{head}", json={"state": "done"})
    assert bad_state.status_code == 422
    too_long = call(gh, "POST", f"{api}/statuses/{head}", json={"state": "success", "description": "x" * 141})
    assert too_long.status_code == 422
    assert too_long.json()["errors"][0]["message"] == "description is too long (maximum is 140 characters)"
    assert call(gh, "POST", f"{api}/statuses/{head}", json={"state": "success", "description": "x" * 140}).ok
    unknown = call(gh, "POST", f"{api}/statuses/{'0' * 40}", json={"state": "success"})
    assert (unknown.status_code, unknown.json()["message"]) == (422, f"No commit found for SHA: {'0' * 40}")
    assert call(gh, "POST", f"{api}/statuses/{head}", gh.other_token, json={"state": "success"}).status_code == 404
    assert call(gh, "GET", f"{api}/commits/nope/statuses").status_code == 404


def test_a_run_its_jobs_and_the_annotations_of_a_failed_step(gh: GitHub) -> None:
    make_repo(gh, "runs")
    head = call(gh, "GET", "/repos/sandbox/runs/commits/main").json()["sha"]
    run = gh.sandbox("POST", "runs", json={
        "owner": "sandbox", "repo": "runs", "event": "push", "status": "completed", "conclusion": "failure",
        "head_sha": head, "head_branch": "main", "name": "ci", "path": ".github/workflows/ci.yml",
        "display_title": "Deploy brief sales-1 round 2", "jobs": [
            {"name": "build", "conclusion": "success", "steps": [{"name": "Set up job", "conclusion": "success"}]},
            {"name": "deploy", "conclusion": "failure", "steps": [{"name": "Run deployer", "conclusion": "failure"}],
             "annotations": [{"level": "error", "message": "publish: the token lacks the workflow scope"},
                             {"level": "warning", "message": "slow", "file": "app.js", "line": 3, "title": "T"}]},
        ]}).json()
    got = call(gh, "GET", f"/repos/sandbox/runs/actions/runs/{run['id']}")
    assert got.status_code == 200
    assert (got.json()["display_title"], got.json()["conclusion"]) == ("Deploy brief sales-1 round 2", "failure")
    jobs = call(gh, "GET", f"/repos/sandbox/runs/actions/runs/{run['id']}/jobs").json()
    assert jobs["total_count"] == 2
    assert [(j["name"], j["conclusion"], j["status"]) for j in jobs["jobs"]] == [
        ("build", "success", "completed"), ("deploy", "failure", "completed")]
    deploy = jobs["jobs"][1]
    assert deploy["steps"] == [{"name": "Run deployer", "status": "completed", "conclusion": "failure", "number": 1,
                                "started_at": deploy["steps"][0]["started_at"],
                                "completed_at": deploy["steps"][0]["completed_at"]}]
    assert deploy["check_run_url"].endswith(f"/check-runs/{deploy['id']}")
    notes = call(gh, "GET", f"/repos/sandbox/runs/check-runs/{deploy['id']}/annotations").json()
    assert [(a["annotation_level"], a["message"], a["path"], a["start_line"]) for a in notes] == [
        ("failure", "publish: the token lacks the workflow scope", ".github", 1), ("warning", "slow", "app.js", 3)]
    assert call(gh, "GET", f"/repos/sandbox/runs/check-runs/{jobs['jobs'][0]['id']}/annotations").json() == []
    assert call(gh, "GET", "/repos/sandbox/runs/check-runs/1/annotations").status_code == 404
    assert call(gh, "GET", "/repos/sandbox/runs/actions/runs/1").status_code == 404
    make_repo(gh, "elsewhere")
    assert call(gh, "GET", f"/repos/sandbox/elsewhere/actions/runs/{run['id']}").status_code == 404
    bad = gh.sandbox("PATCH", f"runs/{run['id']}", json={"jobs": [{"steps": []}]})
    assert bad.status_code == 400 and "name" in bad.json()["error"]
