"""The sandbox evaluator grades each notification with the checks registered for its task and round."""

from __future__ import annotations

from typing import Any

import requests

from action.verify.server import SiteServer
from tests.conftest import Evaluator
from tests.verify.support import graded, require_browser

PAGE = b"<!doctype html><title>Sales</title><p id=total>10</p><table id=t><tbody><tr><td>a</td></tr></tbody></table>"
ROUND_1 = [{"js": "document.title === 'Sales'"}, {"js": "document.querySelector('#missing').id"},
           "Repo has MIT license"]
ROUND_2 = [{"js": "document.querySelectorAll('#t tbody tr').length >= 1"}]


def notify(evaluator: Evaluator, url: str, rnd: int) -> None:
    body = {"email": "a@example.com", "task": "sales", "round": rnd, "nonce": f"n{rnd}",
            "repo_url": "http://127.0.0.1:9/o/sales", "commit_sha": "a" * 40, "pages_url": url}
    requests.post(evaluator.notify_url, json=body, timeout=10).raise_for_status()


def outcomes(note: dict[str, Any]) -> list[tuple[str, str]]:
    return [(r["check"], r["outcome"]) for r in note["checks"]["results"]]


def test_each_round_runs_its_checks_and_the_earlier_rounds(evaluator: Evaluator) -> None:
    require_browser()
    for rnd, checks in ((1, ROUND_1), (2, ROUND_2)):
        registered = requests.post(f"{evaluator.url}/_sandbox/checks", json={"task": "sales", "round": rnd,
                                                                            "checks": checks}, timeout=10)
        assert registered.status_code == 200
    with SiteServer({"index.html": PAGE}, "/o/sales/") as site:
        notify(evaluator, site.url, 1)
        notify(evaluator, site.url, 2)
        first, second = graded(evaluator, 2)
    assert outcomes(first) == [
        ('{"js":"document.title === \'Sales\'"}', "passed"),
        ('{"js":"document.querySelector(\'#missing\').id"}', "threw"),
        ("Repo has MIT license", "skipped"),  # the grader reads repositories from git, not from the page
    ]
    assert outcomes(second) == [
        ('{"js":"document.querySelectorAll(\'#t tbody tr\').length >= 1"}', "passed"), *outcomes(first)]
    assert first["checks"]["state"] == "done" and first["body"]["round"] == 1


def test_registration_is_checked_and_unregistered_tasks_are_not_graded(evaluator: Evaluator) -> None:
    bad = requests.post(f"{evaluator.url}/_sandbox/checks", json={"task": "x", "round": 0, "checks": []}, timeout=10)
    assert bad.status_code == 400 and bad.json() == {"error": "round must be an integer >= 1"}
    requests.delete(f"{evaluator.url}/_sandbox/checks", timeout=10).raise_for_status()
    assert requests.get(f"{evaluator.url}/_sandbox/checks", timeout=10).json() == []
    notify(evaluator, "http://127.0.0.1:9/o/sales/", 1)
    [note] = evaluator.notifications()
    assert "checks" not in note
