"""The status page's pure parts: report tokens, sessions, the progress contract, GitHub's run facts, the HTML."""

from __future__ import annotations

import re

import pytest

from deployer.dispatch_payload import Inline, Reference, ReportLink, read_payload, request_body
from deployer.progress import FACT_CHARS, EventError, RunRef, parse_event
from receiver.access import Access
from receiver.outbox import Status
from receiver.pages import CSP, CSS, JS, detail_page, list_page, login_page
from receiver.payload import ReportTokens, build_inline, report_link
from receiver.runfacts import GENERIC_EXIT, RunFacts, error_line, failed_check_runs, runs_by_brief
from receiver.status_page import safe_next
from receiver.story import Reported, compose

NOW = 1_800_000_000.0


def test_a_report_token_reports_on_its_brief_only_until_it_expires() -> None:
    tokens = ReportTokens("secret", ttl_s=3600)
    token = tokens.mint("brief-a", NOW)
    assert tokens.check("brief-a", token, NOW + 3599) is None
    assert tokens.check("brief-a", token, NOW + 3601) == "expired"
    assert tokens.check("brief-b", token, NOW) == "wrong"
    assert ReportTokens("another secret", 3600).check("brief-a", token, NOW) == "wrong"
    expires, _, mac = token.partition(".")
    assert tokens.check("brief-a", f"{int(expires) + 86400}.{mac}", NOW) == "wrong"  # a longer life is forged
    for junk in ("", ".", "x.y", "1" * 40 + ".abc", token + "x"):
        assert tokens.check("brief-a", junk, NOW) == "wrong"


def test_a_session_cookie_is_signed_expires_and_dies_with_the_secret() -> None:
    access = Access("secret", secure_cookies=False)
    cookie = access.new_session(NOW)
    assert access.session_ok(cookie, NOW + 60) and not access.session_ok(cookie, NOW + 13 * 3600)
    assert not Access("new secret", False).session_ok(cookie, NOW)
    expires, _, mac = cookie.partition(".")
    assert not access.session_ok(f"{int(expires) + 1}.{mac}", NOW)
    assert not access.session_ok(None, NOW) and not access.session_ok("garbage", NOW)
    assert access.secret_ok("secret") and not access.secret_ok("secre") and not access.secret_ok(None)
    assert not access.secret_ok("s\udcffcret")  # a stray byte aiohttp kept as a surrogate


@pytest.mark.parametrize("target, expected", [
    ("/status?task=a", "/status?task=a"), ("/status/briefs/x", "/status/briefs/x"),
    ("//evil.example/status", "/status"), ("https://evil.example/status", "/status"), ("/statusx", "/status"),
    ("/status/../briefs", "/status"), ("/\\evil", "/status"), ("/briefs", "/status"), ("http:/status", "/status"),
    (None, "/status"),
])
def test_after_logging_in_only_a_status_page_path_is_followed(target: object, expected: str) -> None:
    assert safe_next(target) == expected


def test_the_progress_contract_refuses_what_it_does_not_know_and_names_each_problem() -> None:
    event = parse_event({"stage": "pages", "status": "succeeded", "facts": {"pages_url": "https://me.github.io/x/"},
                         "run": {"id": 5, "attempt": 2, "url": "https://github.com/me/d/actions/runs/5"}})
    assert event.run == RunRef(5, 2, "https://github.com/me/d/actions/runs/5")
    assert parse_event(event.body()) == event
    with pytest.raises(EventError) as caught:
        parse_event({"stage": "Pages!", "status": "done", "facts": {"pages_url": "javascript:alert(1)",
                     "commit_sha": "abc", "secret": "x", "error": "e" * (FACT_CHARS["error"] + 1)},
                     "run": {"id": True}, "extra": 1})
    problems = str(caught.value)
    assert {"field", "message"} == set(caught.value.as_list()[0])
    for name in ("extra", "stage", "status", "facts.pages_url", "facts.commit_sha", "facts.secret", "facts.error",
                 "run.id"):
        assert name in problems, name
    for body in (None, [], "x", {"stage": "a", "status": "started", "facts": []}):
        with pytest.raises(EventError):
            parse_event(body)


def test_both_payload_shapes_carry_the_report_link_and_inline_keeps_the_brief_last() -> None:
    link = ReportLink("https://hooks.example.com/briefs/b1/events", "123.abc")
    inline = read_payload(request_body(Inline("b1", "t", {"task": "x"}, link))["client_payload"])
    assert isinstance(inline, Inline) and inline.report == link
    body = build_inline("b1", "t", '{"task":"x"}', link)
    assert body is not None and body.endswith(b'"brief":{"task":"x"}}}') and b'"report_token":"123.abc"' in body
    ref = Reference("b1", "t", "https://hooks.example.com/briefs/b1/payload", "tok", "x", 1, link)
    assert read_payload(request_body(ref)["client_payload"]) == ref
    assert len(request_body(ref)["client_payload"]) <= 10  # GitHub's limit on top-level properties
    assert report_link("https://hooks.example.com/", "b1", "t").url == "https://hooks.example.com/briefs/b1/events"
    assert read_payload({"brief": {}, "report_url": "file:///etc/passwd", "report_token": "t"}).report is None


RUNS = {"total_count": 3, "workflow_runs": [
    {"id": 30, "display_title": "t round 1 [brief b2]", "status": "in_progress", "conclusion": None,
     "html_url": "https://github.com/me/d/actions/runs/30", "created_at": "2026-01-01T10:00:05Z"},
    {"id": 20, "display_title": "t round 1 [brief b1]", "status": "completed", "conclusion": "failure",
     "html_url": "https://github.com/me/d/actions/runs/20", "created_at": "2026-01-01T10:00:03Z"},
    {"id": 10, "display_title": "t round 1 [brief b1]", "status": "completed", "conclusion": "success"},
    {"id": "x", "display_title": "[brief b3]"},
]}


def test_runs_are_matched_to_briefs_by_their_title_newest_first() -> None:
    found = runs_by_brief(RUNS, ["b1", "b2", "b3", "b10"])
    assert set(found) == {"b1", "b2"}
    assert found["b1"].id == 20 and found["b1"].conclusion == "failure" and not found["b1"].settled
    assert found["b2"].status == "in_progress" and not found["b2"].completed
    assert runs_by_brief({"workflow_runs": None}, ["b1"]) == {}


def test_a_failed_runs_error_line_is_ours_before_the_runners_exit_code() -> None:
    jobs = {"total_count": 2, "jobs": [
        {"id": 1, "conclusion": "success", "check_run_url": "https://api.github.com/repos/me/d/check-runs/1"},
        {"id": 2, "conclusion": "failure", "check_run_url": "https://api.github.com/repos/me/d/check-runs/2"},
        {"id": 3, "conclusion": "failure"}]}
    assert failed_check_runs(jobs) == ["https://api.github.com/repos/me/d/check-runs/2"]
    annotations = [
        {"annotation_level": "failure", "message": f"{GENERIC_EXIT} 1.", "title": ""},
        {"annotation_level": "warning", "message": "published with a failing check"},
        {"annotation_level": "failure", "message": "pages stage failed: HTTP 422", "title": "llm-pages-deployer"},
    ]
    assert error_line(annotations) == "pages stage failed: HTTP 422"
    assert error_line(annotations[:1]) == f"{GENERIC_EXIT} 1."
    assert error_line([{"annotation_level": "notice", "message": "x"}, "junk"]) is None
    assert RunFacts(1, None, "completed", "failure", error_checked=True).settled


ROW = Status("b1", "sum-of-sales", 1, "n", "2026-01-01T10:00:00.000Z", "failed", 3,
             '<script>alert("x")</script> & more', None, "inline")


def test_every_value_on_the_page_is_escaped_and_nothing_loads_from_elsewhere() -> None:
    story = compose(ROW, [], None)
    for html in (list_page([story], "v1", "sum-of-sales", "failed"), detail_page(story, "v1")):
        assert "<script>alert" not in html and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more" in html
        assert re.findall(r"<script>", html) == ["<script>"]  # ours only, inlined
        assert "http" not in html  # no link to anywhere: this brief has none
        assert 'data-state="failed"' in html
    assert "script-src 'sha256-" in CSP and "default-src 'none'" in CSP and "'unsafe-inline'" not in CSP
    assert "http" not in CSS and "http" not in JS.replace("https://", "")
    assert 'name="next" value="/status?x=&quot;&gt;"' in login_page(None, '/status?x=">')


def test_run_links_reach_the_page_only_as_http_urls() -> None:
    story = compose(ROW, [Reported("2026-01-01T10:00:05Z", parse_event(
        {"stage": "run", "status": "started", "run": {"id": 3, "url": "https://github.com/me/d/actions/runs/3"}}))],
        RunFacts(3, "javascript:alert(1)", "in_progress", None))
    assert story.links == {"run": "https://github.com/me/d/actions/runs/3"}
    bad = compose(ROW, [], RunFacts(3, "javascript:alert(1)", "in_progress", None))
    assert "run" not in bad.links
