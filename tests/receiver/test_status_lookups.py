"""How the receiver asks GitHub's Actions API about runs that did not report (receiver/watcher.py): conditional
requests, a failed run's error line from its jobs' check-run annotations, and a pause when rate limited.

The sandbox's emulator does not serve the jobs and annotations endpoints or ETags yet (another branch adds them), so
these tests run a small stand-in for those GitHub endpoints, in GitHub's documented shapes; tests/receiver/
test_status_http.py covers the same lookups against the emulator as it is.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from aiohttp import web
from receiver_support import SECRET, make_brief, post, receiver_env, status_of, wait_for

OWNER_REPO = "me/deploys"


@dataclass
class StandIn:
    """Only what the receiver asks: dispatches, the runs list, a run's jobs, a check run's annotations."""

    runs: list[dict[str, Any]] = field(default_factory=list)
    jobs: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    annotations: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    calls: list[tuple[str, str, str | None]] = field(default_factory=list)  # (path, status, If-None-Match)
    limited_until: float = 0.0
    url: str = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(f"/repos/{OWNER_REPO}/dispatches", self.dispatch)
        app.router.add_get(f"/repos/{OWNER_REPO}/actions/runs", self.list_runs)
        app.router.add_get(f"/repos/{OWNER_REPO}/actions/runs/{{id}}/jobs", self.list_jobs)
        app.router.add_get(f"/repos/{OWNER_REPO}/check-runs/{{id}}/annotations", self.list_annotations)
        return app

    async def dispatch(self, _: web.Request) -> web.Response:
        return web.Response(status=204)  # "Create a repository dispatch event": 204 No Content

    def answer(self, request: web.Request, body: Any) -> web.Response:
        # docs.github.com "Best practices for using the REST API": most endpoints return an ETag; a matching
        # If-None-Match gets 304 Not Modified, which costs no primary rate limit.
        if time.time() < self.limited_until:
            self.calls.append((request.path, "403", request.headers.get("If-None-Match")))
            return web.json_response(
                {"message": "API rate limit exceeded for user ID 1.",
                 "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"},
                status=403, headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(self.limited_until))})
        text = json.dumps(body)
        etag = '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'
        matched = request.headers.get("If-None-Match") == etag
        self.calls.append((request.path, "304" if matched else "200", request.headers.get("If-None-Match")))
        if matched:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(text=text, content_type="application/json", headers={"ETag": etag})

    async def list_runs(self, request: web.Request) -> web.Response:
        return self.answer(request, {"total_count": len(self.runs), "workflow_runs": list(reversed(self.runs))})

    async def list_jobs(self, request: web.Request) -> web.Response:
        jobs = self.jobs.get(int(request.match_info["id"]), [])
        return self.answer(request, {"total_count": len(jobs), "jobs": jobs})

    async def list_annotations(self, request: web.Request) -> web.Response:
        return self.answer(request, self.annotations.get(int(request.match_info["id"]), []))

    def run(self, brief_id: str, status: str, conclusion: str | None = None) -> dict[str, Any]:
        run_id = 100 + len(self.runs)
        run = {"id": run_id, "display_title": f"t round 1 [brief {brief_id}]", "status": status,
               "conclusion": conclusion, "event": "repository_dispatch",
               "html_url": f"https://github.example/{OWNER_REPO}/actions/runs/{run_id}",
               "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "updated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        self.runs.append(run)
        return run


@pytest.fixture
def standin() -> Iterator[StandIn]:
    state = StandIn()
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(state.app())
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    state.url = f"http://127.0.0.1:{port}"
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield state
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.run_until_complete(runner.cleanup())
    loop.close()


@pytest.fixture
def receiver(services: Any, standin: StandIn, tmp_path: Path) -> Any:
    return services.start("receiver", "serve", env=receiver_env(
        tmp_path / "data", standin.url, DEPLOYER_REPO=OWNER_REPO, STATUS_LOOKUP_SECONDS="1"))


def story(receiver: Any, brief_id: str) -> dict[str, Any]:
    r = requests.get(f"{receiver.url}/briefs/{brief_id}/story", headers={"Authorization": f"Bearer {SECRET}"},
                     timeout=10)
    assert r.status_code == 200, r.text
    return dict(r.json())


def dispatched(receiver: Any) -> str:
    """A dispatched brief, waited for through GET /briefs/{id}, which never asks GitHub about runs."""
    brief_id = str(post(receiver.url, make_brief()).json()["id"])
    wait_for(lambda: status_of(receiver.url, brief_id)["state"] == "dispatched", what="the dispatch")
    return brief_id


def run_lists(standin: StandIn) -> list[tuple[str, str, str | None]]:
    return [c for c in standin.calls if c[0].endswith("/actions/runs")]


def test_an_unchanged_run_list_is_asked_again_conditionally_and_costs_a_304(standin: StandIn, receiver: Any) -> None:
    brief_id = dispatched(receiver)
    run = standin.run(brief_id, "in_progress")
    first = story(receiver, brief_id)
    assert first["links"]["run"] == run["html_url"] and first["steps"][2]["state"] == "active"
    story(receiver, brief_id)  # within STATUS_LOOKUP_SECONDS: GitHub is not asked
    assert len(run_lists(standin)) == 1

    def looked_again() -> bool:
        story(receiver, brief_id)  # someone looks: once STATUS_LOOKUP_SECONDS passed, GitHub is asked again
        return len(run_lists(standin)) > 1

    wait_for(looked_again, timeout=20, what="a second lookup")
    second = run_lists(standin)[1]
    assert second[1] == "304" and second[2] is not None
    assert story(receiver, brief_id)["links"]["run"] == run["html_url"]


def test_a_failed_runs_error_line_is_read_once_from_its_annotations(standin: StandIn, receiver: Any) -> None:
    brief_id = dispatched(receiver)
    run = standin.run(brief_id, "completed", "failure")
    standin.jobs[run["id"]] = [
        {"id": 7, "run_id": run["id"], "name": "deploy", "status": "completed", "conclusion": "failure",
         "check_run_url": f"{standin.url}/repos/{OWNER_REPO}/check-runs/7"},
        {"id": 8, "run_id": run["id"], "name": "lint", "status": "completed", "conclusion": "success",
         "check_run_url": f"{standin.url}/repos/{OWNER_REPO}/check-runs/8"}]
    standin.annotations[7] = [
        {"path": ".github", "start_line": 1, "end_line": 1, "start_column": None, "end_column": None,
         "annotation_level": "failure", "title": "", "message": "Process completed with exit code 1.",
         "raw_details": None, "blob_href": ""},
        {"path": ".github", "start_line": 1, "end_line": 1, "start_column": None, "end_column": None,
         "annotation_level": "failure", "title": "llm-pages-deployer: install failed",
         "message": "install stage failed: no matching distribution for openpyxl", "raw_details": None,
         "blob_href": ""}]
    data = story(receiver, brief_id)
    assert data["state"] == "failed" and data["error"] == "install stage failed: no matching distribution for openpyxl"
    assert [s["state"] for s in data["steps"]][2] == "failed"
    asked = len(standin.calls)
    assert [c[0].rsplit("/", 2)[-2:] for c in standin.calls[-2:]] == [[str(run["id"]), "jobs"], ["7", "annotations"]]
    time.sleep(1.2)
    assert story(receiver, brief_id)["error"] == data["error"] and len(standin.calls) == asked  # settled for good


def test_a_rate_limited_lookup_waits_for_the_reset(standin: StandIn, receiver: Any) -> None:
    brief_id = dispatched(receiver)
    standin.run(brief_id, "in_progress")
    standin.limited_until = time.time() + 30
    data = story(receiver, brief_id)
    assert data["state"] == "in_flight" and "run" not in data["links"]
    assert [c[1] for c in run_lists(standin)] == ["403"]
    time.sleep(2.5)  # past STATUS_LOOKUP_SECONDS twice, not past the reset
    story(receiver, brief_id)
    assert [c[1] for c in run_lists(standin)] == ["403"]
