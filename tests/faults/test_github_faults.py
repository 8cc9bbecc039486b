"""GitHub misbehaving while `deployer run` publishes: every write route failing in turn, rate limits, a slow answer,
a repository left behind by a failed run, a Pages build that errors. Each ends notified once with the page live."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from tests.e2e.conftest import Deployer
from tests.faults.conftest import (
    FAST,
    Ledger,
    assert_delivered,
    dispatch_event,
    fresh,
    full_only,
    notifications,
)

SALES = "sum-of-sales.r1.json"
CAPTCHA = "captcha-solver.r1.json"  # carries a PNG attachment, so the round makes a blob
SECONDARY = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
DOCS = "https://docs.github.com/rest"
PRIMARY = "API rate limit exceeded for user ID 1."

# Every write a first round makes, in order (blobs only for binary files, hence the PNG brief).
WRITE_ROUTES = [
    ("repo create", "POST /user/repos", CAPTCHA),
    ("blobs", "POST /repos/{owner}/{repo}/git/blobs", CAPTCHA),
    ("tree", "POST /repos/{owner}/{repo}/git/trees", SALES),
    ("commit", "POST /repos/{owner}/{repo}/git/commits", SALES),
    ("ref", "PATCH /repos/{owner}/{repo}/git/refs/{ref}", SALES),
    ("pages", "POST /repos/{owner}/{repo}/pages", SALES),
]


def arm(d: Deployer, route: str, **fault: Any) -> None:
    r = d.github.sandbox("POST", "faults", json={"route": route, **fault})
    assert r.status_code < 300, r.text


def calls(d: Deployer, route: str) -> list[int]:
    return [c["status"] for c in d.github.sandbox("GET", "requests").json() if c["route"] == route]


def run(d: Deployer, brief: dict[str, Any], **env: str) -> Any:
    return d.run("repository_dispatch", dispatch_event(brief), extra_env={**FAST, **env})


@pytest.mark.parametrize("name, route, brief_file", WRITE_ROUTES, ids=[name for name, _, _ in WRITE_ROUTES])
def test_500_three_times_on_each_write_route(deployer: Deployer, ledger: Ledger, name: str, route: str,
                                             brief_file: str) -> None:
    arm(deployer, route, status=500, count=3)
    brief = fresh(brief_file, deployer)
    result = run(deployer, brief)
    assert_delivered(deployer, brief, result, ledger, f"GitHub 500 x3 on {name}")
    statuses = calls(deployer, route)
    assert statuses[:3] == [500] * 3 and statuses[3] in (200, 201), statuses


def test_429_with_retry_after_is_waited_out(deployer: Deployer, ledger: Ledger) -> None:
    route = "POST /repos/{owner}/{repo}/git/commits"
    arm(deployer, route, status=429, count=2, headers={"Retry-After": "1"})
    brief = fresh(SALES, deployer)
    result = run(deployer, brief)
    assert_delivered(deployer, brief, result, ledger, "GitHub 429 with Retry-After on the commit")
    assert calls(deployer, route) == [429, 429, 201]


def test_429_without_retry_after_is_retried_too(deployer: Deployer, ledger: Ledger) -> None:
    """GitHub's secondary limit can answer 429 with no Retry-After; PyGithub alone would give up at once."""
    route = "POST /repos/{owner}/{repo}/git/commits"
    arm(deployer, route, status=429, count=1, body={"message": SECONDARY, "documentation_url": DOCS})
    brief = fresh(SALES, deployer)
    result = run(deployer, brief)
    assert_delivered(deployer, brief, result, ledger, "GitHub 429 without Retry-After on the commit")
    assert calls(deployer, route) == [429, 201]


def test_secondary_rate_limit_403_with_retry_after(deployer: Deployer, ledger: Ledger) -> None:
    route = "POST /repos/{owner}/{repo}/git/trees"
    arm(deployer, route, status=403, count=2, headers={"Retry-After": "1"},
        body={"message": SECONDARY, "documentation_url": DOCS})
    brief = fresh(SALES, deployer)
    result = run(deployer, brief)
    assert_delivered(deployer, brief, result, ledger, "GitHub 403 secondary limit, Retry-After")
    assert calls(deployer, route) == [403, 403, 201]


def test_rate_limit_403_without_retry_after_waits_for_the_reset(deployer: Deployer, ledger: Ledger) -> None:
    """No Retry-After, `x-ratelimit-remaining: 0`: the client waits until `x-ratelimit-reset` (set 2 s ahead)."""
    route = "POST /repos/{owner}/{repo}/git/commits"
    reset = str(int(time.time()) + 2)
    arm(deployer, route, status=403, count=1, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset},
        body={"message": PRIMARY, "documentation_url": DOCS})
    brief = fresh(SALES, deployer)
    result = run(deployer, brief)
    assert_delivered(deployer, brief, result, ledger, "GitHub 403 rate limit, no Retry-After (reset)")
    commits = [c for c in deployer.github.sandbox("GET", "requests").json() if c["route"] == route]
    assert [c["status"] for c in commits] == [403, 201]


@full_only
def test_secondary_rate_limit_403_without_any_header(deployer: Deployer, ledger: Ledger) -> None:
    """Neither Retry-After nor an exhausted limit: the client's own secondary-limit wait (30 s, publish.py)."""
    route = "POST /repos/{owner}/{repo}/git/trees"
    arm(deployer, route, status=403, count=1,
        body={"message": SECONDARY, "documentation_url": DOCS})
    brief = fresh(SALES, deployer)
    result = run(deployer, brief)
    assert_delivered(deployer, brief, result, ledger, "GitHub 403 secondary limit, no headers")
    assert calls(deployer, route) == [403, 201]


def test_a_ref_update_slower_than_the_client_timeout_is_retried(deployer: Deployer, ledger: Ledger) -> None:
    """The first PATCH of the branch would answer after 5 s, past DEPLOYER_GITHUB_TIMEOUT=1: the client abandons
    it and sends it again. Whether or not GitHub applied the abandoned call, the retry leaves one commit."""
    route = "PATCH /repos/{owner}/{repo}/git/refs/{ref}"
    arm(deployer, route, delay=5, count=1)
    brief = fresh(SALES, deployer)
    result = run(deployer, brief, DEPLOYER_GITHUB_TIMEOUT="1")
    assert_delivered(deployer, brief, result, ledger, "GitHub ref update slower than the client timeout")
    assert deployer.github.sandbox("GET", "faults").json() == []  # the slow call came, and was abandoned
    assert 200 in calls(deployer, route)


def test_a_repository_left_by_an_earlier_failed_run(deployer: Deployer, ledger: Ledger) -> None:
    """Run 1 creates the repository, then GitHub refuses its commit (422, not retried): it exits naming the publish
    stage. Run 2 of the same dispatch finds the repository, commits once on top and notifies."""
    route = "POST /repos/{owner}/{repo}/git/commits"
    arm(deployer, route, status=422, count=1, body={"message": "Invalid request.", "documentation_url": DOCS})
    brief = fresh(SALES, deployer)
    first = run(deployer, brief)
    assert first.returncode == 1
    assert len(first.errors) == 1 and "publish stage failed" in first.errors[0]
    assert notifications(deployer, brief) == []
    second = run(deployer, brief)
    assert_delivered(deployer, brief, second, ledger, "repository left by an earlier failed run")
    assert calls(deployer, "POST /user/repos") == [201]  # the second run created nothing


def test_pages_build_errored_once_then_built(deployer: Deployer, ledger: Ledger) -> None:
    """The repository exists with Pages on (from an earlier run); our commit's first build errors, the action asks
    for a rebuild, which is built."""
    brief = fresh(SALES, deployer)
    gh, auth = deployer.github, {"Authorization": f"token {deployer.github.token}"}
    r = requests.post(f"{gh.url}/user/repos", json={"name": brief["task"], "auto_init": True}, headers=auth,
                      timeout=10)
    assert r.status_code == 201, r.text
    pages = f"{gh.url}/repos/{gh.user}/{brief['task']}/pages"
    assert requests.post(pages, json={"source": {"branch": "main", "path": "/"}}, headers=auth,
                         timeout=10).status_code == 201
    deadline = time.monotonic() + 30
    while requests.get(f"{pages}/builds/latest", headers=auth, timeout=10).json().get("status") != "built":
        assert time.monotonic() < deadline, "the initial Pages build did not settle"
        time.sleep(0.1)
    armed = gh.sandbox("POST", "pages/faults", json={"owner": gh.user, "repo": brief["task"], "count": 1})
    assert armed.status_code == 201, armed.text
    result = run(deployer, brief)
    assert_delivered(deployer, brief, result, ledger, "Pages build errored once, then built")
    assert calls(deployer, "POST /repos/{owner}/{repo}/pages/builds") == [201]  # the one rebuild asked for
