"""The sandbox evaluator through a real socket: validation, recording, and failing on demand."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sandbox.evaluator import check_notification
from tests.conftest import Evaluator, Services

GOOD = {
    "email": "someone@example.com", "task": "sum-of-sales-49008", "round": 1, "nonce": "aa124428",
    "repo_url": "http://127.0.0.1:9/sandbox/sum-of-sales-49008", "commit_sha": "a" * 40,
    "pages_url": "http://127.0.0.1:10/sum-of-sales-49008/",
}


@pytest.fixture(scope="module")
def shared_evaluator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Evaluator]:
    services = Services(tmp_path_factory.mktemp("evaluator-logs"))
    svc = services.start("evaluator", "sandbox", "evaluator", "--port", "0")
    yield Evaluator(svc, svc.url)
    assert services.stop_all() == {"evaluator": 0}


@pytest.fixture
def evaluator(shared_evaluator: Evaluator) -> Evaluator:
    """The shared evaluator, emptied and disarmed."""
    requests.delete(f"{shared_evaluator.url}/_sandbox/attempts", timeout=10).raise_for_status()
    requests.post(f"{shared_evaluator.url}/_sandbox/fail", json={"count": 0}, timeout=10).raise_for_status()
    return shared_evaluator


def post(evaluator: Evaluator, payload: Any, path: str = "/notify") -> requests.Response:
    return requests.post(f"{evaluator.url}{path}", json=payload, timeout=10)


def attempts(evaluator: Evaluator) -> list[dict[str, Any]]:
    return requests.get(f"{evaluator.url}/_sandbox/attempts", timeout=10).json()


def test_valid_notification_is_recorded_exactly(evaluator: Evaluator) -> None:
    r = post(evaluator, {**GOOD, "extra": "kept"})
    assert r.status_code == 200
    [note] = evaluator.notifications()
    assert note["body"] == {**GOOD, "extra": "kept"}
    assert note["path"] == "/notify" and note["received_at"].endswith("Z") and note["received_ts"] > 0
    [attempt] = attempts(evaluator)
    assert attempt["status"] == 200 and attempt["received_at"] == note["received_at"]
    assert post(evaluator, GOOD, "/any/other/path").status_code == 200
    assert len(evaluator.notifications()) == 2


def test_wrong_fields_are_400_naming_each(evaluator: Evaluator) -> None:
    bad = {**GOOD, "round": "1", "commit_sha": "abc", "pages_url": "ftp://x/", "email": "nobody"}
    del bad["nonce"]
    r = post(evaluator, bad)
    assert r.status_code == 400
    fields = {f["field"]: f["message"] for f in r.json()["fields"]}
    assert set(fields) == {"nonce", "round", "commit_sha", "pages_url", "email"}  # all at once
    assert fields["nonce"] == "is required" and "integer" in fields["round"] and "40" in fields["commit_sha"]
    r = requests.post(f"{evaluator.url}/notify", data=b"not json", timeout=10)
    assert r.status_code == 400 and r.json()["fields"][0]["field"] == "(body)"
    assert evaluator.notifications() == []
    assert [a["status"] for a in attempts(evaluator)] == [400, 400]
    assert attempts(evaluator)[1]["body"] == "not json"


def test_armed_failures_then_success(evaluator: Evaluator) -> None:
    r = requests.post(f"{evaluator.url}/_sandbox/fail", json={"count": 2, "status": 503,
                                                               "headers": {"Retry-After": "1"}}, timeout=10)
    assert r.json() == {"armed": 2, "status": 503}
    first, second, third = (post(evaluator, GOOD) for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (503, 503, 200)
    assert first.headers["Retry-After"] == "1"
    assert [a["status"] for a in attempts(evaluator)] == [503, 503, 200]
    assert [n["body"] for n in evaluator.notifications()] == [GOOD]


def test_bad_fail_requests_are_refused(evaluator: Evaluator) -> None:
    for body in ({"count": -1}, {"count": "2"}, {"count": 1, "status": 200}, {}):
        r = requests.post(f"{evaluator.url}/_sandbox/fail", json=body, timeout=10)
        assert r.status_code == 400, body
    assert post(evaluator, GOOD).status_code == 200


def test_fail_first_option(services: Any) -> None:
    svc = services.start("evaluator-flaky", "sandbox", "evaluator", "--port", "0", "--fail-first", "1")
    ev = Evaluator(svc, svc.url)
    assert post(ev, GOOD).status_code == 500
    assert post(ev, GOOD).status_code == 200
    assert requests.delete(f"{ev.url}/_sandbox/attempts", timeout=10).ok
    assert ev.notifications() == [] and attempts(ev) == []


def test_check_notification_rules() -> None:
    assert check_notification(GOOD) == []
    assert [e.field for e in check_notification([GOOD])] == ["(body)"]
    assert [e.field for e in check_notification({**GOOD, "round": True})] == ["round"]
    assert [e.field for e in check_notification({**GOOD, "round": 0})] == ["round"]
    assert [e.field for e in check_notification({**GOOD, "task": "a/b"})] == ["task"]
    assert [e.field for e in check_notification({**GOOD, "commit_sha": "A" * 40})] == ["commit_sha"]
    assert [e.field for e in check_notification({**GOOD, "nonce": " "})] == ["nonce"]
    assert [e.field for e in check_notification({**GOOD, "repo_url": "http:///x"})] == ["repo_url"]
