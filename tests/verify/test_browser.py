"""Checks in headless Chromium: every way a check or a page can go wrong has its own named result."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from action.verify.browser import Browser, Outcome, Timeouts
from action.verify.checks import plan_checks
from action.verify.server import SiteServer

QUICK = Timeouts(load=15, settle=0.5, check=2.5)  # generous for a loaded machine; hangs cost `check` each
NEVER = Timeouts(load=2, settle=0.5, check=2.5)
PAGE = b"""<!doctype html><html><head><title>Sales Summary</title>
<link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/bootstrap@5.3.3/dist/css/bootstrap.min.css">
<script src="missing.js"></script></head>
<body><h1>Sales</h1><p>Total: <span id="total-sales">5109.25</span></p>
<script>console.error("deliberate console error"); setTimeout(() => { window.late = 42; }, 100);</script>
</body></html>"""


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    with SiteServer({"index.html": PAGE}, "/octo/sales/") as server:
        yield server.url


@pytest.fixture
def hanging_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


def run(browser: Browser, url: str, checks: list[object], limits: Timeouts = QUICK) -> list[tuple[Outcome, str]]:
    results = browser.run(url, plan_checks(checks).checks, limits)
    return [(r.outcome, r.detail) for r in results]


def test_passing_checks_expressions_functions_and_promises(browser: Browser, site: str) -> None:
    checks: list[object] = [
        {"js": "document.title === `Sales Summary`"},
        {"js": "Math.abs(parseFloat(document.querySelector(\"#total-sales\").textContent) - 5109.25) < 0.01"},
        {"js": "(() => {\n  const h = document.querySelector('h1');\n  return h.textContent === 'Sales';\n})()"},
        "js: async () => { await new Promise(r => setTimeout(r, 50)); return window.late === 42; }",
        {"js": "new Promise(resolve => setTimeout(() => resolve(true), 20))"},
        {"js": "const n = 2; n * 2 === 4"},  # statements: the completion value counts, as with page.evaluate
    ]
    assert [outcome for outcome, _ in run(browser, site, checks)] == [Outcome.PASSED] * len(checks)


def test_each_failure_has_a_named_result(browser: Browser, site: str) -> None:
    results = browser.run(site, plan_checks([
        {"js": "document.title === 'Another title'"},
        {"js": "document.querySelector('#total').textContent"},
        {"js": "document.title ==="},
        {"js": "new Promise(() => {})"},
        {"js": "(() => { while (true) {} })()"},
        {"js": "document.title.length > 0"},  # after a page stuck in a loop, the next check gets a fresh page
    ]).checks, QUICK)
    assert [(r.outcome, r.detail) for r in results] == [
        (Outcome.FAILED, "returned false"),
        (Outcome.THREW, "TypeError: Cannot read properties of null (reading 'textContent')"),
        (Outcome.SYNTAX_ERROR, "SyntaxError: Unexpected token '}'"),
        (Outcome.TIMEOUT, "no result within 2.5s"),
        (Outcome.TIMEOUT, "no result within 2.5s"),
        (Outcome.PASSED, "returned true"),
    ]
    # A failure shows the elements the check reads, and what the page logged.
    assert results[0].dom == 'document.title: "Sales Summary"'
    assert results[1].dom == "#total: no element matches"
    assert "deliberate console error" in results[1].console_errors
    assert any(r.endswith("missing.js: HTTP 404") for r in results[1].failed_requests)
    # The CDN stylesheet is refused (sandbox: loopback only) without counting as the site's failure.
    assert not any("jsdelivr" in r for r in results[1].failed_requests + results[1].console_errors)


def test_a_page_that_never_finishes_loading(browser: Browser, hanging_port: int) -> None:
    blocking = f'<!doctype html><title>t</title><script src="http://127.0.0.1:{hanging_port}/x.js"></script>'
    with SiteServer({"index.html": blocking.encode()}, "/o/r/") as server:
        outcomes = run(browser, server.url, [{"js": "true"}, {"js": "1"}], NEVER)
    reason = "the page never finished loading: no DOMContentLoaded within 2s"
    assert outcomes == [(Outcome.PAGE_NOT_LOADED, reason)] * 2
    # A server that never answers at all is the same named result.
    assert run(browser, f"http://127.0.0.1:{hanging_port}/o/r/", [{"js": "true"}], NEVER) == [
        (Outcome.PAGE_NOT_LOADED, reason)]


def test_an_error_page_and_checks_without_javascript(browser: Browser, site: str) -> None:
    assert run(browser, site + "nothing-here/", [{"js": "true"}]) == [
        (Outcome.PAGE_NOT_LOADED, "the page answered HTTP 404")]
    assert run(browser, site, ["Page looks nice"]) == [(Outcome.NOT_CHECKABLE, "no JavaScript to run")]


def test_checks_naming_a_parameter_open_the_page_with_it(browser: Browser) -> None:
    page = b"<!doctype html><title>p</title><p id=u></p><script>" \
           b"document.getElementById('u').textContent = new URLSearchParams(location.search).get('url')</script>"
    with SiteServer({"index.html": page, "sample.png": b"png"}, "/o/r/") as server:
        checks = plan_checks([{"js": "document.getElementById('u').textContent.endsWith('/o/r/sample.png')"
                                     " // opened as ?url=..."},
                              {"js": "document.getElementById('u').textContent === ''"}],
                             attachments=["sample.png"]).checks
        results = browser.run(server.url, checks, QUICK)
    assert [r.outcome for r in results] == [Outcome.PASSED, Outcome.PASSED]
    assert results[0].url == server.url + f"?url={server.url}sample.png" and results[1].url == server.url


def test_top_level_await_runs_and_a_spent_time_budget_skips_checks(browser: Browser, site: str) -> None:
    assert run(browser, site, [{"js": "await new Promise(r => setTimeout(() => r(document.title), 10))"}]) == [
        (Outcome.PASSED, 'returned "Sales Summary"')]
    spent = Timeouts(load=2, settle=0.5, check=1, budget=0)
    results = browser.run(site, plan_checks([{"js": "true"}, {"js": "1"}]).checks, spent)
    assert [(r.outcome, r.detail) for r in results] == [
        (Outcome.SKIPPED, "skipped: the verification budget of 0s was spent")] * 2


def test_a_failure_shows_every_match_bounded_with_its_table_and_reads_are_kept(browser: Browser) -> None:
    cells = "".join(f"<tr><td>p{n}</td><td>{n}</td></tr>" for n in range(7))
    page = f'<!doctype html><title>t</title><ul id="l"><li>a</li></ul><table id="t"><tbody>{cells}</tbody></table>'
    with SiteServer({"index.html": page.encode()}, "/o/r/") as server:
        failing, passing = browser.run(server.url, plan_checks([
            {"js": "[...document.querySelectorAll('#t td:last-child')].length === 3"},
            {"js": "document.querySelector('#l li').textContent === 'a'"}]).checks, QUICK)
    lines = failing.dom.splitlines()
    assert lines[0] == "#t td:last-child: 7 elements match, the first 5:"
    assert lines[1:6] == [f"  <td>{n}</td>" for n in range(5)]
    assert lines[6].startswith('  inside <table id="t"><tbody><tr><td>p0</td>') and len(lines) == 7
    assert failing.read == (("#t td:last-child", tuple(str(n) for n in range(7))),)
    assert passing.dom == "" and passing.read == (("#l li", ("a",)),)
