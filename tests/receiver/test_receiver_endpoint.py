"""POST /api-endpoint status by status, against a real `deployer serve` over real sockets."""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from receiver_support import SECRET, closed_port_url, make_brief, post, rows, start_receiver, status_of, wait_for

from deployer.brief import TASK_RULE
from sandbox.procs import Service

Live = tuple[Service, Path]


def test_accepted_brief_is_stored_before_the_answer(live: Live) -> None:
    svc, data = live
    brief = make_brief(task="accepted-task", extra_field={"kept": True})
    r = post(svc.url, brief)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "accepted" and body["id"]
    row = next(row for row in rows(data) if row["id"] == body["id"])
    assert (row["task"], row["round"], row["nonce"], row["state"]) == ("accepted-task", 1, brief["nonce"], "pending")
    stored = json.loads(row["brief"])
    assert "secret" not in stored and stored["extra_field"] == {"kept": True}
    assert stored["attachments"] == brief["attachments"]


def test_same_task_round_nonce_is_a_duplicate_with_the_same_id(live: Live) -> None:
    svc, data = live
    brief = make_brief(task="dup-task")
    first = post(svc.url, brief).json()
    again = post(svc.url, {**brief, "brief": "changed text, same triple"})
    assert again.status_code == 200
    assert again.json() == {"status": "duplicate", "id": first["id"]}
    assert [r["id"] for r in rows(data) if r["task"] == "dup-task"] == [first["id"]]
    other_round = post(svc.url, {**brief, "round": 2}).json()
    assert other_round["status"] == "accepted" and other_round["id"] != first["id"]


NOT_JSON = [b"{not json", b"", b"\xff\xfe{}", b'{"a": 1} trailing', b'{"a": NaN}', b'{"a": -Infinity}',
            b'{"a": 1e999}', b'{"nonce": "x\\ud800"}', b"[" * 100_000 + b"]" * 100_000]


@pytest.mark.parametrize("raw", NOT_JSON, ids=["syntax", "empty", "not-utf8", "trailing", "nan", "infinity",
                                              "overflow", "lone-surrogate", "too-deep"])
def test_body_that_is_not_json_is_400(live: Live, raw: bytes) -> None:
    r = requests.post(f"{live[0].url}/api-endpoint", data=raw, headers={"Content-Type": "application/json"},
                      timeout=10)
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_json" and r.json()["detail"]


@pytest.mark.parametrize("body, kind", [([make_brief()], "array"), ("a brief", "string"), (42, "number"),
                                        (None, "null")])
def test_json_that_is_not_an_object_is_400(live: Live, body: Any, kind: str) -> None:
    r = requests.post(f"{live[0].url}/api-endpoint", data=json.dumps(body), timeout=10)
    assert r.status_code == 400
    assert r.json() == {"error": "invalid_brief",
                        "detail": [{"field": "(body)", "message": f"must be a JSON object, not {kind}"}]}


def _data_uri(raw: bytes, media: str = "image/png") -> str:
    return f"data:{media};base64,{base64.b64encode(raw).decode()}"


# One case per rule of DESIGN.md's brief table: (what to change, the field the 400 must name).
RULES: list[tuple[str, dict[str, Any], str]] = [
    ("email missing", {"email": None}, "email"),
    ("email not an address", {"email": "not-an-email"}, "email"),
    ("email not a string", {"email": 5}, "email"),
    ("task missing", {"task": None}, "task"),
    ("task with a space", {"task": "my task"}, "task"),
    ("task with a slash", {"task": "a/b"}, "task"),
    ("task is .", {"task": "."}, "task"),
    ("task is ..", {"task": ".."}, "task"),
    ("task too long", {"task": "t" * 101}, "task"),
    ("task empty", {"task": ""}, "task"),
    ("round missing", {"round": None}, "round"),
    ("round zero", {"round": 0}, "round"),
    ("round a string", {"round": "1"}, "round"),
    ("round a float", {"round": 1.5}, "round"),
    ("round a boolean", {"round": True}, "round"),
    ("round too large", {"round": 2**31}, "round"),
    ("nonce missing", {"nonce": None}, "nonce"),
    ("nonce empty", {"nonce": ""}, "nonce"),
    ("nonce two lines", {"nonce": "a\nb"}, "nonce"),
    ("brief missing", {"brief": None}, "brief"),
    ("brief blank", {"brief": "   "}, "brief"),
    ("checks not a list", {"checks": "title is set"}, "checks"),
    ("checks item a number", {"checks": ["ok", 3]}, "checks[1]"),
    ("evaluation_url missing", {"evaluation_url": None}, "evaluation_url"),
    ("evaluation_url not http", {"evaluation_url": "ftp://example.com/x"}, "evaluation_url"),
    ("evaluation_url no host", {"evaluation_url": "http://"}, "evaluation_url"),
    ("attachments not a list", {"attachments": {"name": "a"}}, "attachments"),
    ("attachment not an object", {"attachments": ["data.csv"]}, "attachments[0]"),
    ("attachment name a path", {"attachments": [{"name": "../x.png", "url": _data_uri(b"x")}]}, "attachments[0].name"),
    ("attachment name missing", {"attachments": [{"url": _data_uri(b"x")}]}, "attachments[0].name"),
    ("attachment url not data:", {"attachments": [{"name": "x.png", "url": "https://example.com/x.png"}]},
     "attachments[0].url"),
    ("attachment bad base64", {"attachments": [{"name": "x.png", "url": "data:image/png;base64,@@@"}]},
     "attachments[0].url"),
    ("attachment names repeat", {"attachments": [{"name": "x.png", "url": _data_uri(b"1")},
                                                 {"name": "x.png", "url": _data_uri(b"2")}]}, "attachments[1].name"),
]


@pytest.mark.parametrize("change, field", [(c, f) for _, c, f in RULES], ids=[name for name, _, _ in RULES])
def test_each_field_rule_is_a_400_naming_the_field(live: Live, change: dict[str, Any], field: str) -> None:
    brief = make_brief(task="rules-task")
    for key, value in change.items():
        if value is None:
            brief.pop(key)
        else:
            brief[key] = value
    r = post(live[0].url, brief)
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["error"] == "invalid_brief"
    assert [d["field"] for d in body["detail"]] == [field], body
    assert body["detail"][0]["message"]
    assert not [row for row in rows(live[1]) if row["nonce"] == brief.get("nonce")]


def test_a_valid_surrogate_pair_is_fine(live: Live) -> None:
    raw = json.dumps(make_brief(task="emoji-task", brief="a party \U0001f389")).encode()  # escaped as a pair
    assert b"\\ud83c\\udf89" in raw
    r = requests.post(f"{live[0].url}/api-endpoint", data=raw, timeout=10)
    assert r.status_code == 200, r.text


def test_every_wrong_field_is_listed_in_one_400(live: Live) -> None:
    r = post(live[0].url, {"secret": SECRET, "round": 0, "checks": 5})
    assert r.status_code == 400
    fields = {d["field"] for d in r.json()["detail"]}
    assert fields == {"email", "task", "round", "nonce", "brief", "evaluation_url", "checks"}


@pytest.mark.parametrize("secret", ["wrong-secret", SECRET + "x", SECRET[:-1], "", 123, None])
def test_wrong_or_missing_secret_is_403_and_nothing_is_stored(live: Live, secret: Any) -> None:
    brief = make_brief(task="secret-task")
    if secret is None:
        brief.pop("secret")
    else:
        brief["secret"] = secret
    r = post(live[0].url, brief)
    assert r.status_code == 403
    assert r.json()["error"] == "forbidden"
    assert not [row for row in rows(live[1]) if row["nonce"] == brief["nonce"]]


def test_wrong_secret_learns_nothing_about_the_fields(live: Live) -> None:
    r = post(live[0].url, {"secret": "guess", "task": "../../etc", "round": -1})
    assert r.status_code == 403
    assert "task" not in r.text and "round" not in r.text


def _stream(total: int, chunk: int = 64 * 1024) -> Iterator[bytes]:
    yield b'{"brief": "'
    sent = 0
    while sent < total:
        yield b"x" * chunk
        sent += chunk
    yield b'"}'


def test_streamed_body_over_the_limit_is_413(live: Live) -> None:
    # A generator body is sent chunked: no Content-Length, so only counting while streaming can catch it.
    r = requests.post(f"{live[0].url}/api-endpoint", data=_stream(3 * 1024 * 1024), timeout=30)
    assert r.status_code == 413
    assert r.json()["error"] == "too_large"


def _raw_request(url: str, head: str) -> str:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head.encode())
        return sock.recv(65536).decode(errors="replace")


def test_declared_content_length_over_the_limit_is_413_before_any_body(live: Live) -> None:
    answer = _raw_request(live[0].url, "POST /api-endpoint HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                       f"Content-Length: {10**12}\r\n\r\n")
    assert answer.startswith("HTTP/1.1 413"), answer
    assert '"too_large"' in answer


def test_expect_100_continue_over_the_limit_gets_413_not_continue(live: Live) -> None:
    answer = _raw_request(live[0].url, "POST /api-endpoint HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                       f"Expect: 100-continue\r\nContent-Length: {2 * 1024 * 1024}\r\n\r\n")
    assert answer.startswith("HTTP/1.1 413"), answer


def test_expect_100_continue_under_the_limit_is_accepted(live: Live) -> None:
    body = json.dumps(make_brief(task="expect-task")).encode()
    r = requests.post(f"{live[0].url}/api-endpoint", data=body, timeout=10,
                      headers={"Expect": "100-continue", "Content-Type": "application/json"})
    assert r.status_code == 200 and r.json()["status"] == "accepted"


def test_brief_just_under_the_limit_is_accepted(live: Live) -> None:
    image = bytes(range(256)) * 3000  # 768,000 bytes -> ~1,024,000 base64 characters, under 1 MiB
    r = post(live[0].url, make_brief(task="big-task", attachments=[{"name": "a.png", "url": _data_uri(image)}]))
    assert r.status_code == 200, r.text


def test_health_reports_the_outbox(live: Live) -> None:
    r = requests.get(f"{live[0].url}/health", timeout=10)
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "healthy" and body["service"] == "llm-pages-deployer"
    outbox = body["outbox"]
    assert set(outbox) == {"pending", "oldest_pending_s", "dispatched", "failed"}
    assert outbox["pending"] == len([r for r in rows(live[1]) if r["state"] == "pending"])
    assert outbox["pending"] >= 1 and outbox["oldest_pending_s"] >= 0


def test_brief_status_needs_the_shared_secret(live: Live) -> None:
    svc, _ = live
    brief_id = post(svc.url, make_brief(task="status-task")).json()["id"]
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": SECRET},
                    {"Authorization": f"Basic {SECRET}"}):
        r = requests.get(f"{svc.url}/briefs/{brief_id}", headers=headers, timeout=10)
        assert r.status_code == 401 and r.json()["error"] == "unauthorized"
    status = status_of(svc.url, brief_id)
    assert status["id"] == brief_id and status["state"] == "pending" and status["task"] == "status-task"
    assert {"attempts", "last_error", "dispatched_at", "accepted_at"} <= set(status)
    unknown = requests.get(f"{svc.url}/briefs/nope", headers={"Authorization": f"Bearer {SECRET}"}, timeout=10)
    assert unknown.status_code == 404 and unknown.json()["error"] == "not_found"


def test_payload_route_without_a_valid_token_is_401(live: Live) -> None:
    svc, _ = live
    brief_id = post(svc.url, make_brief(task="payload-task")).json()["id"]
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": f"Bearer {SECRET}"}):
        r = requests.get(f"{svc.url}/briefs/{brief_id}/payload", headers=headers, timeout=10)
        assert r.status_code == 401 and r.json()["error"] == "unauthorized"


def test_authorization_that_is_not_utf8_is_401_not_a_crash(live: Live) -> None:
    host, port = live[0].url.removeprefix("http://").split(":")
    for path in (b"/briefs/x", b"/briefs/x/payload"):
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\xfe\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 401")


def test_unknown_route_and_method_answer_json_errors(live: Live) -> None:
    r = requests.get(f"{live[0].url}/nowhere", timeout=10)
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    r = requests.get(f"{live[0].url}/api-endpoint", timeout=10)
    assert r.status_code == 405 and r.json()["error"] == "method_not_allowed"
    assert "POST" in r.headers["Allow"]


def test_dispatch_failures_are_visible_while_the_brief_stays_pending(live: Live) -> None:
    """GitHub is unreachable for this receiver: the queue's head counts attempts, shows why, and stays pending."""
    svc, data = live
    post(svc.url, make_brief(task="unreachable-task"))
    head = wait_for(lambda: next((r for r in rows(data) if r["attempts"] >= 1), None))
    status = status_of(svc.url, head["id"])
    assert status["state"] == "pending" and status["attempts"] >= 1
    assert "cannot reach GitHub" in status["last_error"]


def test_logs_and_outbox_never_hold_the_secret_or_token(live: Live) -> None:
    svc, data = live
    post(svc.url, make_brief(task="leak-task"))
    on_disk = b"".join(p.read_bytes() for p in data.iterdir() if p.is_file())
    assert SECRET.encode() not in on_disk
    log = svc.log()
    assert "stage=accepted" in log and "task=leak-task" in log
    assert SECRET not in log and "sandbox-token" not in log
    assert "wrong-secret" not in log  # rejected secrets are not logged either
    assert "stage=rejected status=403 error=forbidden" in log
    assert "stage=rejected status=400 error=invalid_brief" in log and "fields=email" in log
    assert "stage=rejected status=413 error=too_large" in log


# A receiver whose BRIEF_MAX_* settings are small, so that each bound is passed by a few characters.
LIMITS = {"BRIEF_MAX_CHARS": "40", "BRIEF_MAX_CHECKS": "3", "BRIEF_MAX_CHECK_CHARS": "30", "BRIEF_MAX_ATTACHMENTS": "2",
          "BRIEF_MAX_ATTACHMENT_MB": "1", "BRIEF_MAX_EMAIL_CHARS": "25", "BRIEF_MAX_NONCE_CHARS": "40",
          "BRIEF_MAX_URL_CHARS": "40", "BRIEF_MAX_NAME_CHARS": "12"}
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    root = tmp_path_factory.mktemp("limited")
    svc = start_receiver(root / "logs", root / "data", closed_port_url(), MAX_BODY_MB="5", **LIMITS)
    yield svc, root / "data"
    assert svc.stop() == 0, svc.log()


BOUNDS = [
    ("brief text", {"brief": "b" * 41}, "brief", "must be at most 40 characters, not 41"),
    ("number of checks", {"checks": ["a", "b", "c", "d"]}, "checks", "must be at most 3 checks, not 4"),
    ("one check", {"checks": ["c" * 31]}, "checks[0]", "must be at most 30 characters, not 31"),
    ("number of attachments", {"attachments": [{"name": f"{i}.txt", "url": _data_uri(b"x")} for i in range(3)]},
     "attachments", "must be at most 2 attachments, not 3"),
    ("attachment size", {"attachments": [{"name": "big.bin", "url": _data_uri(b"x" * (MIB + 1))}]},
     "attachments[0].url", f"decodes to {MIB + 1} bytes; must be at most {MIB} bytes"),
    ("email", {"email": "a" * 14 + "@example.com"}, "email", "must be at most 25 characters, not 26"),
    ("nonce", {"nonce": "n" * 41}, "nonce", "must be at most 40 characters, not 41"),
    ("evaluation_url", {"evaluation_url": "https://grader.example.com/" + "p" * 14}, "evaluation_url",
     "must be at most 40 characters, not 41"),
    ("attachment name", {"attachments": [{"name": "n" * 9 + ".csv", "url": _data_uri(b"x")}]},
     "attachments[0].name", "must be at most 12 characters"),
    ("task", {"task": "t" * 101}, "task", TASK_RULE),
]


@pytest.mark.parametrize("change, field, message", [b[1:] for b in BOUNDS], ids=[b[0] for b in BOUNDS])
def test_each_bound_is_a_400_naming_the_field_and_its_limit(limited: Live, change: dict[str, Any], field: str,
                                                            message: str) -> None:
    brief = {**make_brief(task="bounds-task", brief="Sum it.", attachments=[], checks=[]), **change}
    r = post(limited[0].url, brief)
    assert r.status_code == 400, r.text
    assert r.json() == {"error": "invalid_brief", "detail": [{"field": field, "message": message}]}
    assert not [row for row in rows(limited[1]) if row["nonce"] == brief["nonce"]]


def test_a_brief_at_every_limit_is_accepted(limited: Live) -> None:
    brief = make_brief(task="at-the-limits", brief="b" * 40, checks=["c" * 30, "x", {"js": "j" * 28}],
                       attachments=[{"name": "n" * 8 + ".csv", "url": _data_uri(b"x" * MIB)},
                                    {"name": "b.txt", "url": _data_uri(b"y")}],
                       email="a" * 13 + "@example.com", nonce="n" * 40, evaluation_url="https://grader.example.com/")
    r = post(limited[0].url, brief)
    assert r.status_code == 200 and r.json()["status"] == "accepted", r.text
