"""`deployer run` end to end: event file -> OpenRouter stand-in -> emulated GitHub (real git) -> Pages -> evaluator."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import requests

from action.plan import trailers
from deployer.dispatch_payload import Inline, request_body
from tests.e2e.conftest import Deployer, sample


def dispatch_event(brief: dict, accepted_at: str = "") -> dict:
    """The repository_dispatch event of an inline payload, as the receiver sends it (deployer.dispatch_payload)."""
    body = request_body(Inline("b-1", accepted_at, {k: v for k, v in brief.items() if k != "secret"}))
    return {"action": body["event_type"], "client_payload": body["client_payload"]}


def clone(url: str, dest: Path) -> Path:
    subprocess.run(["git", "clone", "--quiet", url, str(dest)], check=True, capture_output=True)
    return dest


def log_of(repo: Path) -> list[str]:
    out = subprocess.run(["git", "-C", str(repo), "log", "--format=%H%x00%B%x01"], check=True, capture_output=True,
                         text=True).stdout
    return [entry.strip("\n") for entry in out.split("\x01") if entry.strip()]


def test_round_one_from_dispatch_to_notification(deployer: Deployer, tmp_path: Path) -> None:
    brief = sample("sum-of-sales.r1.json", deployer.evaluator.notify_url)
    deployer.github.sandbox("DELETE", "requests")
    result = deployer.run("repository_dispatch", dispatch_event(brief))
    assert result.returncode == 0, result.stdout + result.stderr

    calls = deployer.github.sandbox("GET", "requests").json()
    print(f"GitHub API calls for round 1: {len(calls)}: " + ", ".join(c["route"] for c in calls))
    out = result.outputs
    owner, task = deployer.github.user, brief["task"]
    assert out["repo-url"] == f"{deployer.github.server_url}/{owner}/{task}"
    assert out["pages-url"] == deployer.github.site(task)

    repo = clone(f"{deployer.github.server_url}/{owner}/{task}.git", tmp_path / "clone")
    history = log_of(repo)
    ours = [entry for entry in history if trailers(entry).get("Deployer-Task") == task]
    assert len(ours) == 1 and ours[0].startswith(out["commit-sha"])
    assert len(history) == 2  # GitHub's auto_init commit, then exactly one of ours
    files = {p.relative_to(repo).as_posix() for p in repo.rglob("*") if p.is_file() and ".git" not in p.parts}
    assert {"index.html", "README.md", "LICENSE", "data.csv"} <= files
    attachment = brief["attachments"][0]["url"].split(",", 1)[1]
    assert (repo / "data.csv").read_bytes() == base64.b64decode(attachment)
    assert "MIT License" in (repo / "LICENSE").read_text()
    assert "sandbox-secret" not in json.dumps([(repo / f).read_text(errors="replace") for f in files])

    page = requests.get(out["pages-url"], timeout=10)
    assert page.status_code == 200 and page.content == (repo / "index.html").read_bytes()

    notes = deployer.evaluator.notifications()
    assert [n["body"] for n in notes] == [{
        "email": brief["email"], "task": task, "round": 1, "nonce": brief["nonce"], "repo_url": out["repo-url"],
        "commit_sha": out["commit-sha"], "pages_url": out["pages-url"],
    }]
    assert "::group::generate" in result.stdout and "::endgroup::" in result.stdout
    assert out["pages-url"] in result.summary and "sandbox/primary" in result.summary
    assert deployer.openrouter.key not in result.shown + result.summary
    assert deployer.github.token not in result.shown + result.summary

    # The same event again: nothing new is committed, and the evaluator, already told, is not told again.
    again = deployer.run("repository_dispatch", dispatch_event(brief))
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.outputs == out
    subprocess.run(["git", "-C", str(repo), "pull", "--quiet"], check=True, capture_output=True)
    assert len(log_of(repo)) == 2
    assert [n["body"]["commit_sha"] for n in deployer.evaluator.notifications()] == [out["commit-sha"]]
    assert "already commit" in again.summary and "already notified at " in again.summary


def test_workflow_dispatch_with_a_pasted_brief(deployer: Deployer) -> None:
    brief = sample("captcha-solver.r1.json", deployer.evaluator.notify_url)
    result = deployer.run("workflow_dispatch", {"inputs": {"brief": json.dumps(brief)}})
    assert result.returncode == 0, result.stdout + result.stderr
    assert brief["secret"] not in result.shown + result.summary
    assert f"::add-mask::{brief['secret']}" in result.stdout
    note = deployer.evaluator.notifications()[0]["body"]
    assert note["task"] == brief["task"] and note["commit_sha"] == result.outputs["commit-sha"]
    png = base64.b64decode(brief["attachments"][0]["url"].split(",", 1)[1])
    served = requests.get(result.outputs["pages-url"] + "sample.png", timeout=10)
    assert served.status_code == 200 and served.content == png


def test_a_bad_brief_fails_in_the_brief_stage_and_creates_nothing(deployer: Deployer) -> None:
    brief = sample("sum-of-sales.r1.json", deployer.evaluator.notify_url)
    brief.update(task="bad/name", round=0)
    result = deployer.run("repository_dispatch", dispatch_event(brief))
    assert result.returncode != 0
    errors = result.errors
    assert len(errors) == 1 and "brief stage failed" in errors[0]
    assert "task" in errors[0] and "round" in errors[0]
    writes = [c for c in deployer.github.sandbox("GET", "requests").json() if c["method"] != "GET"]
    assert writes == []
    assert "Deployment failed" in result.summary


def test_github_502_twice_on_the_tree_call_is_retried(deployer: Deployer) -> None:
    fault = {"route": "POST /repos/{owner}/{repo}/git/trees", "status": 502, "count": 2}
    assert deployer.github.sandbox("POST", "faults", json=fault).status_code in (200, 201)
    brief = sample("sum-of-sales.r1.json", deployer.evaluator.notify_url)
    result = deployer.run("repository_dispatch", dispatch_event(brief))
    assert result.returncode == 0, result.stdout + result.stderr
    trees = [c for c in deployer.github.sandbox("GET", "requests").json()
             if c["route"] == "POST /repos/{owner}/{repo}/git/trees"]
    assert [c["status"] for c in trees] == [502, 502, 201]
    assert len(deployer.evaluator.notifications()) == 1


def test_evaluator_failing_three_times_then_accepting(deployer: Deployer) -> None:
    requests.post(f"{deployer.evaluator.url}/_sandbox/fail", json={"count": 3, "status": 500}, timeout=5)
    brief = sample("sum-of-sales.r1.json", deployer.evaluator.notify_url)
    result = deployer.run("repository_dispatch", dispatch_event(brief))
    assert result.returncode == 0, result.stdout + result.stderr
    assert [line for line in result.stdout.splitlines() if line.startswith("attempt ")] == [
        "attempt 1: HTTP 500", "attempt 2: HTTP 500", "attempt 3: HTTP 500", "attempt 4: HTTP 200",
    ]
    assert len(deployer.evaluator.notifications()) == 1


def test_deadline_passing_fails_the_notify_stage(deployer: Deployer) -> None:
    requests.post(f"{deployer.evaluator.url}/_sandbox/fail", json={"count": 10_000, "status": 500}, timeout=5)
    brief = sample("sum-of-sales.r1.json", deployer.evaluator.notify_url)
    result = deployer.run("repository_dispatch", dispatch_event(brief),
                          extra_env={"DEPLOYER_DEADLINE_MINUTES": "0.15"})
    assert result.returncode == 1
    errors = result.errors
    assert len(errors) == 1 and "notify stage failed" in errors[0] and "deadline" in errors[0]
    assert deployer.evaluator.notifications() == []
    assert "**notify** failed" in result.summary


def test_every_model_failing_commits_nothing(deployer: Deployer) -> None:
    failure = {"status": 503, "headers": {"Retry-After": "0"},
               "body": {"error": {"code": 503, "message": "No provider available"}}}
    deployer.openrouter.script(*[failure] * 12)
    brief = sample("sum-of-sales.r1.json", deployer.evaluator.notify_url)
    result = deployer.run("repository_dispatch", dispatch_event(brief),
                          extra_env={"DEPLOYER_FALLBACK_MODELS": ""})
    assert result.returncode == 1
    errors = result.errors
    assert len(errors) == 1 and "generate stage failed" in errors[0] and "sandbox/primary" in errors[0]
    writes = [c for c in deployer.github.sandbox("GET", "requests").json() if c["method"] != "GET"]
    assert writes == []
