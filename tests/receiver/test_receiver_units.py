"""The receiver's pure parts: settings, rate limit, dispatch policy and payload building."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from deployer.dispatch_payload import MAX_REQUEST_BYTES, Inline, Reference, read_payload, request_body
from deployer.limits import BriefLimits
from deployer.retry import SECONDARY_WAIT_S
from receiver.config import ConfigError, is_loopback, load_settings, loopback_only_warning, unreachable_public_url
from receiver.lookup import CLOCK_SKEW_S, PER_PAGE, find_run, poll_interval_s, search_params
from receiver.payload import build_inline, build_reference, hash_token, mint_token
from receiver.policy import (
    MAX_BACKOFF_S,
    MAX_TRANSIENT_ATTEMPTS,
    MAX_WAIT_S,
    backoff_s,
    classify,
    pace_s,
    retry_after_s,
)
from receiver.ratelimit import RateLimiter

REQUIRED = {"SHARED_SECRET": "s", "GITHUB_TOKEN": "t", "DEPLOYER_REPO": "me/deploys"}


def test_defaults() -> None:
    s = load_settings(REQUIRED)
    assert (s.github_api_url, str(s.data_dir), s.host, s.port) == ("https://api.github.com", ".deployer", "127.0.0.1",
                                                                  8000)
    assert s.max_body_bytes == 25 * 1024 * 1024
    assert (s.dispatch_per_minute, s.rate_limit_per_minute, s.token_ttl_s) == (60, 600, 24 * 3600)
    assert (s.dispatch_lookup_s, s.dispatch_timeout_s, s.limits) == (60, 30, BriefLimits())
    assert load_settings({**REQUIRED, "BRIEF_MAX_ATTACHMENT_MB": "2"}).limits.attachment_bytes == 2 * 1024 * 1024
    assert s.outbox_sync == "normal" and load_settings({**REQUIRED, "OUTBOX_SYNC": "FULL"}).outbox_sync == "full"
    assert s.public_url is None and s.with_public_url("http://127.0.0.1:8000").public_url == "http://127.0.0.1:8000"


def test_explicit_settings_and_cli_overrides() -> None:
    env = {**REQUIRED, "GITHUB_API_URL": "http://127.0.0.1:9/", "PUBLIC_URL": "https://hooks.example.com/",
           "MAX_BODY_MB": "0.5", "PORT": "9000", "HOST": "0.0.0.0"}
    s = load_settings(env, host="127.0.0.2", port=0)
    assert (s.github_api_url, s.public_url, s.host, s.port) == ("http://127.0.0.1:9", "https://hooks.example.com",
                                                                "127.0.0.2", 0)
    assert s.max_body_bytes == 512 * 1024
    assert s.with_public_url("http://x").public_url == "https://hooks.example.com"


def test_github_pat_is_an_alias() -> None:
    env = {**REQUIRED, "GITHUB_PAT": "pat"}
    del env["GITHUB_TOKEN"]
    assert load_settings(env).github_token == "pat"


def test_missing_settings_are_named_in_one_message() -> None:
    with pytest.raises(ConfigError) as exc:
        load_settings({"GITHUB_TOKEN": "t"})
    assert str(exc.value) == "missing required settings: SHARED_SECRET, DEPLOYER_REPO"


@pytest.mark.parametrize("name, value", [
    ("DEPLOYER_REPO", "owner"), ("DEPLOYER_REPO", "a/b/c"), ("PORT", "70000"), ("PORT", "x"), ("MAX_BODY_MB", "nan"),
    ("MAX_BODY_MB", "inf"), ("DISPATCH_PER_MINUTE", "0"), ("RATE_LIMIT_PER_MINUTE", "1.5"),
    ("BRIEF_TOKEN_TTL_HOURS", "-1"), ("OUTBOX_SYNC", "off"), ("PUBLIC_URL", "hooks.example.com"), ("GITHUB_API_URL", "ftp://x"),
    ("DISPATCH_LOOKUP_SECONDS", "-1"), ("DISPATCH_TIMEOUT_SECONDS", "0"), ("BRIEF_MAX_CHECKS", "0"),
])
def test_wrong_values_name_the_setting(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_settings({**REQUIRED, name: value})


def test_rate_limit_allows_a_burst_then_asks_to_wait() -> None:
    limiter = RateLimiter(60)  # one a second, bursts of 10
    assert [limiter.check("a", 100.0) for _ in range(10)] == [0.0] * 10
    assert limiter.check("a", 100.0) == 1.0
    assert limiter.check("b", 100.0) == 0.0  # per client
    assert limiter.check("a", 101.0) == 0.0  # refilled
    assert RateLimiter(6).check("c", 0.0) == 0.0 and RateLimiter(0).check("c", 0.0) == 0.0


def test_rate_limit_retry_after_is_whole_seconds() -> None:
    limiter = RateLimiter(6)  # one every 10 s
    limiter.check("a", 0.0)
    assert limiter.check("a", 0.0) == 10.0
    assert limiter.check("a", 7.5) == 3.0


def test_rate_limit_forgets_full_buckets_when_crowded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("receiver.ratelimit.MAX_CLIENTS", 3)
    limiter = RateLimiter(60)
    for client in "abc":
        limiter.check(client, 0.0)
    limiter.check("d", 100.0)  # a, b, c have refilled by now: forgotten
    assert set(limiter._buckets) == {"d"}


def test_success_is_dispatched() -> None:
    assert classify(204, {}, "", transient_attempts=1, now=0).kind == "dispatched"


@pytest.mark.parametrize("status", [400, 401, 404, 410, 422])
def test_client_errors_fail_at_once_with_the_reason(status: int) -> None:
    outcome = classify(status, {}, "Not Found", transient_attempts=1, now=0)
    assert outcome.kind == "failed" and outcome.reason == f"GitHub answered {status}: Not Found"


def test_403_without_rate_limit_signs_is_permanent() -> None:
    assert classify(403, {}, "Resource not accessible by personal access token", transient_attempts=1,
                    now=0).kind == "failed"


@pytest.mark.parametrize("headers, message, wait", [
    ({"Retry-After": "7"}, "", 7.0),
    ({"x-ratelimit-remaining": "0", "x-ratelimit-reset": "130"}, "API rate limit exceeded", 31.0),  # +1: within it
    ({}, "You have exceeded a secondary rate limit", SECONDARY_WAIT_S),
    # a secondary limit with the primary budget left: a minute, not until the primary budget's reset
    ({"x-ratelimit-remaining": "4990", "x-ratelimit-reset": "3100"}, "You have exceeded a secondary rate limit",
     SECONDARY_WAIT_S),
    ({"Retry-After": "999999"}, "", MAX_WAIT_S),
])
def test_rate_limits_wait_as_told_and_do_not_count(headers: dict[str, str], message: str, wait: float) -> None:
    for status in (403, 429):
        outcome = classify(status, headers, message, transient_attempts=MAX_TRANSIENT_ATTEMPTS + 5, now=100)
        assert outcome.kind == "retry" and outcome.wait_s == wait and not outcome.counts_towards_giving_up


def test_server_errors_back_off_then_give_up() -> None:
    first = classify(502, {}, "Bad Gateway", transient_attempts=1, now=0)
    assert first.kind == "retry" and first.wait_s == 1.0 and first.counts_towards_giving_up
    assert classify(None, {}, "connection refused", transient_attempts=3, now=0).wait_s == 4.0
    assert classify(503, {"Retry-After": "2"}, "", transient_attempts=5, now=0).wait_s == 2.0
    last = classify(500, {}, "boom", transient_attempts=MAX_TRANSIENT_ATTEMPTS, now=0)
    assert last.kind == "failed" and "gave up after" in (last.reason or "") and "boom" in (last.reason or "")
    assert [backoff_s(n) for n in (1, 2, 3, 10)] == [1.0, 2.0, 4.0, MAX_BACKOFF_S]


def test_retry_after_reads_seconds_and_dates() -> None:
    assert retry_after_s({"retry-after": "3"}, 0) == 3.0
    assert retry_after_s({"Retry-After": "Thu, 01 Jan 1970 00:01:40 GMT"}, 40.0) == 60.0
    assert retry_after_s({"Retry-After": "soon"}, 0) is None and retry_after_s({}, 0) is None


def test_pacing_follows_dispatch_per_minute_and_slows_when_github_runs_low() -> None:
    assert pace_s(60, {}, 0) == 1.0
    assert pace_s(120, {"x-ratelimit-remaining": "4000", "x-ratelimit-reset": "3600"}, 0) == 0.5
    assert pace_s(60, {"x-ratelimit-remaining": "10", "x-ratelimit-reset": "100"}, 0) == 10.0
    assert pace_s(60, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "100"}, 40) == 60.0


def _brief_json(size: int) -> str:
    return json.dumps({"task": "t", "brief": "x" * size}, separators=(",", ":"))


def test_small_brief_goes_inline_as_valid_json() -> None:
    """The spliced bytes are exactly the contract's inline body."""
    body = build_inline("id1", "2026-01-01T00:00:00.000Z", _brief_json(100))
    assert body is not None
    brief = {"task": "t", "brief": "x" * 100}
    assert json.loads(body) == request_body(Inline("id1", "2026-01-01T00:00:00.000Z", brief)) == {
        "event_type": "deploy-brief", "client_payload": {"id": "id1", "accepted_at": "2026-01-01T00:00:00.000Z",
                                                         "brief": brief}}
    assert read_payload(json.loads(body)["client_payload"]) == Inline("id1", "2026-01-01T00:00:00.000Z", brief)


def test_brief_near_64kb_goes_by_reference() -> None:
    sizes = [n for n in range(MAX_REQUEST_BYTES - 200, MAX_REQUEST_BYTES) if build_inline("i", "a", _brief_json(n))]
    assert sizes, "some sizes just under the limit still fit"
    largest = build_inline("i", "a", _brief_json(sizes[-1]))
    assert largest is not None and len(largest) < MAX_REQUEST_BYTES
    assert build_inline("i", "a", _brief_json(sizes[-1] + 1)) is None


def test_reference_carries_url_token_task_and_round_only() -> None:
    token, digest = mint_token()
    body = json.loads(build_reference("abc", "when", "https://hooks.example.com/", token, "demo-1", 2))
    assert body["client_payload"] == {"id": "abc", "accepted_at": "when",
                                      "brief_url": "https://hooks.example.com/briefs/abc/payload", "brief_token": token,
                                      "task": "demo-1", "round": 2}
    assert read_payload(body["client_payload"]) == Reference(
        "abc", "when", "https://hooks.example.com/briefs/abc/payload", token, "demo-1", 2)
    assert digest == hash_token(token) and token.encode() not in digest and len(token) >= 40
    assert mint_token()[0] != token


def _run(run_id: int, title: str, created: str = "2026-01-01T10:00:00Z") -> dict[str, object]:
    return {"id": run_id, "display_title": title, "created_at": created}


def test_the_search_asks_for_dispatch_runs_since_the_attempt_less_a_clock_margin() -> None:
    since = datetime(2026, 1, 1, 10, 0, tzinfo=UTC).timestamp()
    params = search_params(since, 3)
    assert params == {"event": "repository_dispatch", "created": ">=2026-01-01T09:55:00Z", "per_page": "100",
                      "page": "3"}
    assert CLOCK_SKEW_S == 300


def test_a_run_is_found_only_by_its_brief_mark() -> None:
    since = datetime(2026, 1, 1, 10, 0, tzinfo=UTC).timestamp()
    page = {"workflow_runs": [_run(1, "t round 1 [brief abc1]"), _run(2, "t round 1 [brief abc]"), _run(3, "abc")]}
    assert find_run(page, "abc", since) == (2, False)
    assert find_run(page, "ab", since) == (None, False)  # a short page: nothing older to read


def test_the_search_reads_on_only_while_runs_may_still_be_recent_enough() -> None:
    since = datetime(2026, 1, 1, 10, 0, tzinfo=UTC).timestamp()
    full = {"workflow_runs": [_run(i, f"[brief other{i}]") for i in range(PER_PAGE)]}
    assert find_run(full, "abc", since) == (None, True)
    full["workflow_runs"][-1]["created_at"] = "2026-01-01T09:00:00Z"  # older than the window: stop there
    assert find_run(full, "abc", since) == (None, False)
    assert find_run({"message": "not a list"}, "abc", since) == (None, False)


def test_the_search_repeats_about_a_dozen_times_within_the_window() -> None:
    assert poll_interval_s(60) == 5.0 and poll_interval_s(12) == 1.0 and poll_interval_s(1) == 0.5


@pytest.mark.parametrize("host, loopback", [
    ("127.0.0.1", True), ("127.8.9.1", True), ("::1", True), ("[::1]", True), ("::ffff:127.0.0.1", True),
    ("localhost", True), ("LOCALHOST.", True), ("app.localhost", True), ("0.0.0.0", False), ("10.0.0.1", False),
    ("receiver.example.org", False), ("localhost.example.org", False),
])
def test_what_counts_as_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_public_url_must_be_reachable_unless_bound_only_to_loopback() -> None:
    assert unreachable_public_url(None, "127.0.0.1", 8000) is None
    assert unreachable_public_url("http://0.0.0.0:8000", "localhost", 8000) is None
    assert unreachable_public_url("https://receiver.example.org", "0.0.0.0", 8000) is None
    assert unreachable_public_url("http://10.0.0.5:8000", "0.0.0.0", 8000) is None  # a self-hosted runner may
    problem = unreachable_public_url(None, "0.0.0.0", 8000)
    assert problem is not None and "http://0.0.0.0:8000 (the default" in problem
    assert "loopback" in (unreachable_public_url("http://[::1]:80", "::", 80) or "")
    with pytest.raises(ConfigError, match=re.escape("PUBLIC_URL http://127.0.0.1:9000 cannot be reached")):
        load_settings({**REQUIRED, "HOST": "0.0.0.0", "PUBLIC_URL": "http://127.0.0.1:9000"})


def test_a_loopback_public_url_is_worth_a_warning_only_with_the_real_github() -> None:
    assert loopback_only_warning("http://127.0.0.1:8000", "http://127.0.0.1:5000") is None  # the sandbox
    assert loopback_only_warning("https://receiver.example.org", "https://api.github.com") is None
    assert "is loopback" in (loopback_only_warning("http://localhost:8000", "https://api.github.com") or "")
