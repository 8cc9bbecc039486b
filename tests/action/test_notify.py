"""Notification: exactly the evaluator's fields, retried with backoff until delivered or the deadline."""

import time

import pytest
import requests

from action.notify import NotifyError, notify, payload

FIELDS = {
    "email": "a@example.com", "task": "demo-1", "round": 1, "nonce": "n1",
    "repo_url": "http://127.0.0.1:9/sandbox/demo-1", "commit_sha": "a" * 40,
    "pages_url": "http://127.0.0.1:9/sandbox/demo-1/",
}


def test_payload_is_exactly_the_seven_fields() -> None:
    body = payload(**FIELDS, secret="never", brief="not sent")
    assert body == FIELDS
    with pytest.raises(ValueError, match="commit_sha"):
        payload(**{**FIELDS, "commit_sha": ""})


def test_delivered_after_the_evaluator_fails_three_times(evaluator) -> None:
    requests.post(f"{evaluator.url}/_sandbox/fail", json={"count": 3, "status": 500}, timeout=5).raise_for_status()
    seen: list[str] = []
    delivery = notify(evaluator.notify_url, FIELDS, deadline=time.time() + 60, first_delay=0.05,
                      on_attempt=lambda n, outcome: seen.append(outcome))
    assert delivery.attempts == 4 and delivery.status == 200
    assert seen == ["HTTP 500"] * 3 + ["HTTP 200"]
    received = evaluator.notifications()
    assert len(received) == 1 and received[0]["body"] == FIELDS


def test_deadline_passes_while_the_evaluator_keeps_failing(evaluator) -> None:
    requests.post(f"{evaluator.url}/_sandbox/fail", json={"count": 1000, "status": 503}, timeout=5).raise_for_status()
    with pytest.raises(NotifyError, match=r"deadline.*HTTP 503"):
        notify(evaluator.notify_url, FIELDS, deadline=time.time() + 1.0, first_delay=0.1)
    assert evaluator.notifications() == []


def test_network_errors_are_retried_until_the_deadline() -> None:
    waits: list[float] = []
    now = [1000.0]

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    with pytest.raises(NotifyError, match="ConnectionError"):
        notify("http://127.0.0.1:9/notify", FIELDS, deadline=1000.0 + 20, clock=lambda: now[0], sleep=sleep)
    assert waits == [1, 2, 4, 8]
