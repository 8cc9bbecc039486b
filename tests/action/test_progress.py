"""action/progress.py against a recording HTTP server standing in for the receiver's `POST /briefs/{id}/events`:
what it sends, that it never fails the run, and that it stops when the receiver cannot take reports."""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from action.gha import Log
from action.progress import MAX_FAILURES, Reporter, link_from_event, run_ref
from deployer.dispatch_payload import Inline, ReportLink, request_body
from deployer.progress import RUN_STAGE, RunRef, parse_event

TOKEN = "1900000000.report-token-of-this-brief"


class Recorder(ThreadingHTTPServer):
    """Records each POST (its Authorization and JSON body) and answers `status` after `delay` seconds."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.received: list[tuple[str, Any]] = []
        self.status = 200
        self.delay = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/briefs/b1/events"


class Handler(BaseHTTPRequestHandler):
    server: Recorder

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.received.append((self.headers.get("Authorization", ""), body))
        time.sleep(self.server.delay)
        reply = json.dumps({"status": "recorded"} if self.server.status == 200 else {"error": "x"}).encode()
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Recorder]:
    server = Recorder()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def reporter(server: Recorder, **kwargs: Any) -> tuple[Reporter, list[str]]:
    warnings: list[str] = []
    link = ReportLink(server.url, TOKEN)
    return Reporter(link, RunRef(9, 1, "https://github.com/me/d/actions/runs/9"), warn=warnings.append,
                    **kwargs), warnings


def sent(server: Recorder) -> list[tuple[str, str, dict[str, str]]]:
    events = [parse_event(body) for _, body in server.received]  # every body keeps the contract
    return [(e.stage, e.status, e.facts) for e in events]


def test_stages_are_reported_after_the_runs_start_with_only_new_facts(receiver: Recorder) -> None:
    progress, warnings = reporter(receiver)
    facts = {"task": "t", "round": "1"}
    with progress.stage("generate", facts):
        pass
    with progress.stage("publish", facts):
        facts.update(repository="https://github.com/me/t", commit="b" * 40)
    with progress.stage("pages", facts):
        facts["page"] = "https://me.github.io/t/"
    facts["notified"] = "after 1 attempt(s), HTTP 200"
    progress.succeeded(facts)
    assert sent(receiver) == [
        (RUN_STAGE, "started", {}), ("generate", "started", {}), ("generate", "succeeded", {}),
        ("publish", "started", {}),
        ("publish", "succeeded", {"repo_url": "https://github.com/me/t", "commit_sha": "b" * 40}),
        ("pages", "started", {}), ("pages", "succeeded", {"pages_url": "https://me.github.io/t/"}),
        (RUN_STAGE, "succeeded", {"notification": "after 1 attempt(s), HTTP 200"}),
    ]
    assert {auth for auth, _ in receiver.received} == {f"Bearer {TOKEN}"}
    assert all(body["run"] == {"id": 9, "attempt": 1, "url": "https://github.com/me/d/actions/runs/9"}
               for _, body in receiver.received)
    assert warnings == []


def test_a_failing_stage_is_reported_and_still_raises_and_the_error_line_is_redacted(receiver: Recorder) -> None:
    log = Log(io.StringIO())
    log.mask("ghp_secret_token")
    progress = Reporter(ReportLink(receiver.url, TOKEN), None, redact=log.redact, warn=log.warning)
    with pytest.raises(RuntimeError, match="boom"), progress.stage("generate", {}):
        raise RuntimeError("boom")
    progress.failed("generate", "generate stage failed: ghp_secret_token was refused")
    assert sent(receiver) == [(RUN_STAGE, "started", {}), ("generate", "started", {}), ("generate", "failed", {}),
                              (RUN_STAGE, "failed", {"stage": "generate",
                                                     "error": "generate stage failed: *** was refused"})]
    assert "ghp_secret_token" not in json.dumps(receiver.received)
    assert all("run" not in body for _, body in receiver.received)  # outside Actions: no run to name


def test_an_answer_that_will_not_change_silences_the_reporter_with_one_warning(receiver: Recorder) -> None:
    receiver.status = 401
    progress, warnings = reporter(receiver)
    for stage in ("brief", "generate", "publish"):
        with progress.stage(stage, {}):
            pass
    progress.succeeded({})
    assert len(receiver.received) == 1 and progress.quiet
    assert len(warnings) == 1 and "HTTP 401" in warnings[0] and "deployment goes on" in warnings[0]


def test_transient_answers_are_skipped_and_reporting_goes_on(receiver: Recorder) -> None:
    receiver.status = 503
    progress, warnings = reporter(receiver)
    assert not progress.report("generate", "started")  # run started, then generate started: two failures
    receiver.status = 200
    assert progress.report("generate", "succeeded") and not progress.quiet and warnings == []


def test_an_unreachable_receiver_is_given_up_after_a_few_tries() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/briefs/b1/events"
    warnings: list[str] = []
    progress = Reporter(ReportLink(url, TOKEN), None, warn=warnings.append)
    for stage in ("brief", "repository", "generate", "publish", "pages", "notify"):
        with progress.stage(stage, {}):
            pass
    assert progress.quiet and progress.failures == MAX_FAILURES and len(warnings) == 1
    assert "failures in a row" in warnings[0]


def test_reporting_stops_once_its_time_budget_is_spent(receiver: Recorder) -> None:
    receiver.delay = 0.4
    progress, warnings = reporter(receiver, budget_s=0.6)
    for stage in ("brief", "repository", "generate", "publish"):
        with progress.stage(stage, {}):
            pass
    assert progress.quiet and 1 <= len(receiver.received) <= 2 and "took" in warnings[0]


def test_the_link_comes_from_the_dispatch_event_and_the_token_is_masked(receiver: Recorder, tmp_path: Path) -> None:
    body = request_body(Inline("b1", "2026-01-01T00:00:00Z", {"task": "t"}, ReportLink(receiver.url, TOKEN)))
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"action": body["event_type"], "client_payload": body["client_payload"]}))
    out = io.StringIO()
    progress = Reporter.for_run(str(event), Log(out), env={
        "GITHUB_RUN_ID": "77", "GITHUB_RUN_ATTEMPT": "2", "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "me/deploys"})
    assert progress.link == ReportLink(receiver.url, TOKEN)
    assert f"::add-mask::{TOKEN}" in out.getvalue()
    assert progress.run == RunRef(77, 2, "https://github.com/me/deploys/actions/runs/77")
    assert progress.report("brief", "started")
    (tmp_path / "pasted.json").write_text(json.dumps({"inputs": {"brief": "{}"}}))
    for path in (None, str(tmp_path / "pasted.json"), str(tmp_path / "missing.json")):
        assert link_from_event(path) is None
    assert Reporter.for_run(None, Log(io.StringIO())).report("brief", "started") is False
    assert run_ref({}) is None and run_ref({"GITHUB_RUN_ID": "x"}) is None
