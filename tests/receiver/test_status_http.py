"""The status page and its JSON against a real `deployer serve` dispatching to the GitHub emulator: who may read,
what runs may report, and what the Actions API tells about runs that never report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from openapi_schema_validator import OAS30Validator, validate
from receiver_support import SECRET, make_brief, post, receiver_env, wait_for

REPO = "sandbox/deploy-target"
SPEC = yaml.safe_load((Path(__file__).resolve().parents[2] / "receiver" / "openapi.yaml").read_text())
BODY_TEXT = "Publish a page that sums the sales column; unmistakable brief text 7f3a"


@pytest.fixture
def receiver(services: Any, github: Any, tmp_path: Path) -> Any:
    r = requests.post(f"{github.url}/user/repos", json={"name": "deploy-target", "auto_init": True}, timeout=10,
                      headers={"Authorization": f"Bearer {github.token}"})
    assert r.status_code == 201, r.text
    return services.start("receiver", "serve", env=receiver_env(tmp_path / "data", github.url, DEPLOYER_REPO=REPO,
                                                                STATUS_LOOKUP_SECONDS="1"))


def dispatched(github: Any, receiver: Any, **overrides: Any) -> tuple[str, dict[str, Any]]:
    """POST a brief; its id and the client_payload GitHub received for it."""
    brief_id = post(receiver.url, make_brief(brief=BODY_TEXT, **overrides)).json()["id"]

    def payload() -> dict[str, Any] | None:
        for d in github.sandbox("GET", "dispatches").json():
            if d["client_payload"].get("id") == brief_id:
                return dict(d["client_payload"])
        return None

    return brief_id, wait_for(payload, what="the dispatch")


def documented(body: Any, schema: str) -> Any:
    """`body`, once it matched its schema in receiver/openapi.yaml."""
    validate(body, {"$ref": f"#/components/schemas/{schema}", "components": SPEC["components"]}, cls=OAS30Validator)
    return body


def story(receiver: Any, brief_id: str) -> dict[str, Any]:
    r = requests.get(f"{receiver.url}/briefs/{brief_id}/story", headers={"Authorization": f"Bearer {SECRET}"},
                     timeout=10)
    assert r.status_code == 200, r.text
    return dict(documented(r.json(), "Story"))


def steps(data: dict[str, Any]) -> dict[str, str]:
    return {s["name"]: s["state"] for s in data["steps"]}


def report(payload: dict[str, Any], body: Any, token: str | None = None) -> requests.Response:
    return requests.post(payload["report_url"], data=body if isinstance(body, bytes) else json.dumps(body),
                         headers={"Authorization": f"Bearer {token or payload['report_token']}"}, timeout=10)


def test_without_credentials_no_page_or_answer_shows_a_brief(github: Any, receiver: Any) -> None:
    brief_id, payload = dispatched(github, receiver, task="hidden-task")
    cases = {"/status": 401, f"/status/briefs/{brief_id}": 401, "/briefs": 401, f"/briefs/{brief_id}/story": 401,
             "/status?task=hidden-task": 401}
    forged = {"deployer_session": "9999999999.forged"}
    for auth in ({}, {"headers": {"Authorization": "Bearer wrong"}}, {"cookies": forged}):
        for path, status in cases.items():
            r = requests.get(f"{receiver.url}{path}", timeout=10, **auth)  # type: ignore[arg-type]
            assert r.status_code == status, (path, auth)
            served = r.content
            for leak in (SECRET, BODY_TEXT, payload["report_token"], "student@example.com"):
                assert leak.encode() not in served, (path, leak)
            assert b"data-id=" not in served and b'class="brief' not in served
            if path.startswith("/status"):
                assert b'action="/status/login"' in served and r.headers["Content-Security-Policy"]
    home = requests.get(f"{receiver.url}/", timeout=10, allow_redirects=False)
    assert home.status_code == 303 and home.headers["Location"] == "/status"


def test_logging_in_gives_a_strict_session_cookie_and_shows_the_briefs(github: Any, receiver: Any) -> None:
    brief_id, payload = dispatched(github, receiver, task="shown-task")
    browser = requests.Session()
    login = f"{receiver.url}/status/login"
    wrong = browser.post(login, data={"secret": "not it", "next": "/status"}, allow_redirects=False, timeout=10)
    assert wrong.status_code == 401 and "Set-Cookie" not in wrong.headers and b"not the shared secret" in wrong.content
    cross = browser.post(login, data={"secret": SECRET}, headers={"Origin": "https://evil.example"},
                         allow_redirects=False, timeout=10)
    assert cross.status_code == 403 and "Set-Cookie" not in cross.headers
    fetched = browser.post(login, data={"secret": SECRET}, headers={"Sec-Fetch-Site": "cross-site"},
                           allow_redirects=False, timeout=10)
    assert fetched.status_code == 403
    ok = browser.post(login, data={"secret": SECRET, "next": f"/status/briefs/{brief_id}"}, allow_redirects=False,
                      headers={"Origin": receiver.url}, timeout=10)
    assert ok.status_code == 303 and ok.headers["Location"] == f"/status/briefs/{brief_id}"
    cookie = ok.headers["Set-Cookie"]
    for attribute in ("HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"):
        assert attribute in cookie, attribute
    assert SECRET not in cookie and "Secure" not in cookie  # PUBLIC_URL is http here

    page = browser.get(f"{receiver.url}/status", timeout=10)
    assert page.status_code == 200 and b"shown-task" in page.content and brief_id.encode() in page.content
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp
    for leak in (SECRET, BODY_TEXT, payload["report_token"]):
        assert leak.encode() not in page.content
    detail = browser.get(f"{receiver.url}/status/briefs/{brief_id}", timeout=10)
    assert detail.status_code == 200 and b'class="timeline"' in detail.content
    listed = documented(browser.get(f"{receiver.url}/briefs", timeout=10).json(), "BriefList")
    assert listed["briefs"][0]["id"] == brief_id
    assert browser.get(f"{receiver.url}/status/briefs/nope", timeout=10).status_code == 404
    assert browser.get(f"{receiver.url}/status?state=lost", timeout=10).status_code == 400

    guesses = [browser.post(login, data={"secret": f"guess {n}"}, allow_redirects=False, timeout=10) for n in range(8)]
    assert {g.status_code for g in guesses} == {401, 429}  # a burst of guesses is cut short, per client
    assert all(g.headers["Retry-After"].isdigit() for g in guesses if g.status_code == 429)

    out = browser.post(f"{receiver.url}/status/logout", allow_redirects=False, timeout=10)
    assert out.status_code == 303 and "deployer_session=;" in out.headers["Set-Cookie"].replace('""', "")
    assert browser.get(f"{receiver.url}/status", timeout=10).status_code == 401


def test_a_run_reports_with_its_own_token_and_the_story_follows(github: Any, receiver: Any) -> None:
    brief_id, payload = dispatched(github, receiver, task="reported-task")
    other_id, other = dispatched(github, receiver, task="other-task")
    started = {"stage": "run", "status": "started", "run": {"id": 41, "url": "https://example.test/runs/41"}}
    assert report(payload, started, token="garbage").status_code == 401
    assert report(payload, started, token=other["report_token"]).status_code == 401  # another brief's token
    assert report({**payload, "report_url": payload["report_url"].replace(brief_id, "f" * 28)}, started).status_code \
        == 401
    bad = report(payload, {"stage": "pages", "status": "finished", "facts": {"pages_url": "ftp://x"}})
    assert bad.status_code == 400 and documented(bad.json(), "Error")["error"] == "invalid_event"
    assert {p["field"] for p in bad.json()["detail"]} == {"status", "facts.pages_url"}
    assert report(payload, b"{not json").json()["error"] == "invalid_json"
    assert report(payload, b" " * 20_000).status_code == 413

    sha = "c" * 40
    for event in (started, {"stage": "publish", "status": "started"},
                  {"stage": "publish", "status": "succeeded"},
                  {"stage": "pages", "status": "started",
                   "facts": {"repo_url": "https://example.test/me/r", "commit_sha": sha}},
                  {"stage": "run", "status": "failed",
                   "facts": {"stage": "pages", "error": f"pages stage failed: token {SECRET} refused"}}):
        r = report(payload, documented({**event, "run": started["run"]}, "ProgressEvent"))
        assert r.status_code == 200 and r.json() == {"status": "recorded"}, r.text
    data = story(receiver, brief_id)
    assert data["state"] == "failed" and data["error"] == "pages stage failed: token *** refused"
    assert steps(data) == {"accepted": "done", "dispatched": "done", "run": "done", "published": "done",
                           "live": "failed", "notified": "waiting"}
    assert data["links"] == {"run": "https://example.test/runs/41", "repository": "https://example.test/me/r",
                             "commit": f"https://example.test/me/r/commit/{sha}"}
    assert SECRET not in json.dumps(data) and story(receiver, other_id)["state"] == "in_flight"
    log = receiver.log()
    assert SECRET not in log and payload["report_token"] not in log

    answers = [report(payload, {"stage": "pages", "status": "started"}).status_code for _ in range(200)]
    assert answers.count(409) > 0 and set(answers) == {200, 409}  # a brief keeps at most 200 events
    assert len(story(receiver, brief_id)["timeline"]) < 210


def test_a_run_that_never_reports_is_found_by_its_title_in_the_actions_api(github: Any, receiver: Any) -> None:
    brief_id, _ = dispatched(github, receiver, task="silent-task")
    waiting = story(receiver, brief_id)  # no run yet: GitHub has none
    assert waiting["steps"][2] == {"name": "run", "state": "active", "detail": "waiting for GitHub to start the run"}
    assert "run" not in waiting["links"]
    created = github.sandbox("POST", "runs", json={
        "owner": "sandbox", "repo": "deploy-target", "event": "repository_dispatch", "status": "in_progress",
        "display_title": f"silent-task round 1 [brief {brief_id}]"}).json()

    def seen(state: str, step: str) -> dict[str, Any] | None:
        data = story(receiver, brief_id)
        return data if steps(data)["run"] == step and data["state"] == state and "run" in data["links"] else None

    running = wait_for(lambda: seen("in_flight", "active"), timeout=30, what="the run found by its title")
    assert running["links"]["run"] == created["html_url"]
    github.sandbox("PATCH", f"runs/{created['id']}", json={"status": "completed", "conclusion": "cancelled"})
    ended = wait_for(lambda: seen("failed", "failed"), timeout=30, what="the run's conclusion")
    assert ended["error"].startswith("the run ended: cancelled")
    assert any("completed: cancelled" in e["text"] for e in ended["timeline"])
    calls = [c for c in github.sandbox("GET", "requests").json() if c["method"] == "GET" and "/actions/runs" in
             c["path"]]
    assert calls and all(c["status"] in (200, 404) for c in calls)
    before = len(calls)
    for _ in range(5):  # settled: looking again asks GitHub nothing
        assert story(receiver, brief_id)["state"] == "failed"
    after = [c for c in github.sandbox("GET", "requests").json() if "/actions/runs" in c["path"]]
    assert len(after) == before
