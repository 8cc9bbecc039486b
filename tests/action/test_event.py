"""Reading the run's brief from each kind of event, and refusing what is not a brief."""

import base64
import json
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from action.event import EventError, parse_accepted_at, read_brief
from deployer.brief import BriefError

BRIEF = {
    "email": "a@example.com", "task": "demo-1", "round": 1, "nonce": "n1", "brief": "Build it.",
    "evaluation_url": "http://127.0.0.1:1/notify", "checks": [{"js": "1 === 1"}],
}


def test_repository_dispatch_nested_brief() -> None:
    event = {"client_payload": {"id": "b1", "accepted_at": "2026-11-26T10:00:00Z", "brief": BRIEF}}
    source = read_brief("repository_dispatch", event, "")
    assert source.brief.task == "demo-1" and source.brief.checks == [{"js": "1 === 1"}]
    assert source.receiver_id == "b1"
    assert source.accepted_at is not None and source.accepted_at.isoformat() == "2026-11-26T10:00:00+00:00"


def test_workflow_dispatch_pasted_brief_drops_the_secret() -> None:
    event = {"inputs": {"brief": json.dumps({**BRIEF, "secret": "s3cr3t-value"})}}
    source = read_brief("workflow_dispatch", event, None)
    assert source.brief.secret is None
    assert "s3cr3t-value" not in json.dumps(source.brief.public_dict())
    assert source.dropped_secret == "s3cr3t-value"
    assert source.accepted_at is None


def test_brief_input_wins_over_the_event() -> None:
    event = {"client_payload": {"brief": {**BRIEF, "task": "from-event"}}}
    assert read_brief("repository_dispatch", event, json.dumps(BRIEF)).brief.task == "demo-1"


def test_bad_briefs_name_every_wrong_field() -> None:
    with pytest.raises(BriefError) as info:
        read_brief("repository_dispatch", {"client_payload": {"brief": {**BRIEF, "task": "a/b", "round": 0}}}, "")
    assert {e.field for e in info.value.errors} == {"task", "round"}
    with pytest.raises(BriefError, match="not valid JSON"):
        read_brief("workflow_dispatch", {"inputs": {"brief": "{nope"}}, "")


def test_events_without_a_brief_are_refused_clearly() -> None:
    with pytest.raises(EventError, match="'brief' input"):
        read_brief("workflow_dispatch", {"inputs": {}}, "")
    with pytest.raises(EventError, match="neither"):
        read_brief("push", {}, "")
    with pytest.raises(EventError, match="client_payload"):
        read_brief("repository_dispatch", {}, "")


def test_accepted_at_parsing_is_tolerant() -> None:
    assert parse_accepted_at("not a date") is None
    assert parse_accepted_at(None) is None
    stamp = parse_accepted_at("2026-11-26T10:00:00")
    assert stamp is not None and stamp.tzinfo is not None


def test_a_brief_too_large_to_paste_is_read_from_brief_url(tmp_path: Path) -> None:
    data = base64.b64encode(b"n,v\r\n" + b"a,1\r\n" * 12_000).decode()  # over GitHub's 65,535 characters per input
    big = {**BRIEF, "secret": "s3cr3t-value", "attachments": [{"name": "d.csv", "url": f"data:text/csv;base64,{data}"}]}
    (tmp_path / "brief.json").write_text(json.dumps(big))
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/brief.json"
        source = read_brief("workflow_dispatch", {"inputs": {"brief": "", "brief_url": url}}, "")
        with pytest.raises(EventError, match="HTTP 404"):
            read_brief("workflow_dispatch", {"inputs": {"brief_url": url + ".missing"}}, "")
    finally:
        server.shutdown()
    assert len(json.dumps(big)) > 65_535 and source.brief.attachments[0].decode().data.count(b"a,1") == 12_000
    assert source.brief.secret is None
    assert source.dropped_secret == "s3cr3t-value" and source.origin == "workflow_dispatch (brief_url)"
    with pytest.raises(EventError, match="http"):
        read_brief("workflow_dispatch", {"inputs": {"brief_url": "file:///etc/passwd"}}, "")


def test_a_manual_run_without_a_brief_says_how_to_give_a_large_one() -> None:
    with pytest.raises(EventError, match=r"65,535 characters.*brief_url.*deployer send"):
        read_brief("workflow_dispatch", {"inputs": {"brief": " "}}, "")
