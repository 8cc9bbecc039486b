"""Planning checks: which are JavaScript, which are about the repository, which need translating; URL parameters."""

from __future__ import annotations

from action.verify.checks import Kind, classify, derive_params, js_source, plan_checks, selectors


def test_js_checks_are_objects_or_js_prefixed_strings() -> None:
    assert js_source({"js": "document.title === 'x'"}) == "document.title === 'x'"
    assert js_source("js: !!document.querySelector('h1')") == "!!document.querySelector('h1')"
    assert js_source("JS:1") == "1"
    assert js_source("Page shows a heading") is None
    assert js_source({"js": "   "}) is None and js_source({"python": "x"}) is None


def test_plain_english_is_a_repository_or_a_page_check() -> None:
    assert classify("Repo has MIT license") is Kind.REPO
    assert classify("README.md is professional") is Kind.REPO
    assert classify("data.csv is committed as-is") is Kind.REPO
    assert classify("secrets.json is not committed to the repository") is Kind.REPO
    assert classify("Page displays captcha URL passed at ?url=...") is Kind.PAGE
    assert classify("index.html fetches data.csv and shows the total") is Kind.PAGE
    assert classify("Page displays solved captcha text within 15 seconds") is Kind.PAGE


def test_plan_keeps_this_rounds_checks_first_and_earlier_ones_once() -> None:
    title = {"js": "document.title === 'A'"}
    plan = plan_checks([title, "Repo has MIT license"], [title, {"js": "1"}, 42])
    assert [(c.index, c.kind, c.earlier) for c in plan.checks] == [
        (0, Kind.JS, False), (1, Kind.REPO, False), (2, Kind.JS, True), (3, Kind.PAGE, True)]
    assert plan.checks[0].js == "document.title === 'A'" and plan.checks[0].label == '{"js":"document.title === \'A\'"}'
    assert plan.checks[3].js is None  # not a check we understand: reported as not checkable


def test_url_parameters_come_from_the_check_with_derived_values() -> None:
    # A placeholder value: a URL parameter gets an image attachment's own URL on the served site.
    assert derive_params("Page displays captcha URL passed at ?url=...", ["notes.txt", "sample.png"]) == (
        ("url", "{site}sample.png"),)
    assert derive_params("Shows the company for ?CIK=0001018724 and &token=...", []) == (
        ("CIK", "0001018724"), ("token", "verify-token"))
    assert derive_params("no parameters here", ["a.png"]) == ()
    [check] = plan_checks(["Page displays captcha URL passed at ?url=https://.../image.png"],
                          attachments=["sample.png"]).checks
    assert check.query("http://127.0.0.1:5/o/r/") == "?url=http://127.0.0.1:5/o/r/sample.png"


def test_selectors_are_read_from_the_javascript() -> None:
    js = ("document.querySelector(\"#total-sales\").textContent + document.getElementById('x').id"
          " + document.querySelectorAll(`#t tbody tr`).length")
    assert selectors(js) == ["#total-sales", "#t tbody tr", "#x"]
