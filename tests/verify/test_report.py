"""What the model, the log and the job summary are told about check results; verification without a browser."""

from __future__ import annotations

import stat
from pathlib import Path

from action.verify.browser import Outcome, Result
from action.verify.checks import plan_checks
from action.verify.report import counts, repair_problem, summary_table
from action.verify.verifier import Verifier
from deployer.brief import parse_brief

SITE = "http://127.0.0.1:5/o/r/"


def test_a_repair_problem_names_the_check_the_error_the_page_and_its_elements() -> None:
    [check] = plan_checks([{"js": "document.querySelector('#total-sales').textContent === '5'"}],
                          attachments=["a.png"]).checks
    result = Result(check, Outcome.THREW, "TypeError: x is null", SITE + "?url=" + SITE + "a.png",
                    "#total-sales: no element matches", ("uncaught boom",), (SITE + "app.js: HTTP 404",))
    text = str(repair_problem(result, SITE))
    assert text.splitlines() == [
        "browser check: check {\"js\":\"document.querySelector('#total-sales').textContent === '5'\"} -> threw: "
        "TypeError: x is null.",
        f"  Opened in a headless browser: the site root with ?url={SITE}a.png.",
        "  What the page had: #total-sales: no element matches",
        "  Console errors: uncaught boom",
        f"  Failed requests: {SITE}app.js: HTTP 404",
    ]


def test_the_summary_table_shows_each_check_before_publishing_and_live() -> None:
    checks = plan_checks([{"js": "1"}, "Looks | nice"], [{"js": "2"}]).checks
    local = [Result(checks[0], Outcome.PASSED, "returned 1"), Result(checks[1], Outcome.NOT_CHECKABLE, "taste"),
             Result(checks[2], Outcome.FAILED, "returned 0")]
    table = summary_table(local, [Result(checks[0], Outcome.TIMEOUT, "no result within 20s"), *local[1:]])
    assert table.splitlines()[4:] == [
        '| 1 | {"js":"1"} | js | ✅ passed | ❌ timeout: no result within 20s |',
        "| 2 | Looks \\| nice | page | ⚪ not-checkable: taste | ⚪ not-checkable: taste |",
        '| 3 | {"js":"2"} | js (earlier round) | ❌ failed: returned 0 | ❌ failed: returned 0 |',
    ]
    assert counts(local) == "1/3 passed, 1 failed, 1 not run"


def test_without_a_browser_checks_are_skipped_and_repository_checks_still_run(tmp_path: Path) -> None:
    broken = tmp_path / "chromium"
    broken.write_text("#!/bin/sh\nexit 1\n")
    broken.chmod(broken.stat().st_mode | stat.S_IEXEC)
    brief = parse_brief({"email": "a@b.co", "task": "t", "round": 1, "nonce": "n", "brief": "b",
                         "evaluation_url": "http://127.0.0.1:9/", "checks": [{"js": "true"}, "Repo has MIT license"]},
                        require_secret=False)
    lines: list[str] = []
    verifier = Verifier.prepare(brief, [], llm=None, prefix="/o/t/", browser_path=str(broken), log=lines.append)
    problems = verifier.soft_check({"index.html": b"<title>t</title>"})
    # The missing LICENSE is the site's failure; a check that could not run says nothing about the site.
    assert [p.message for p in problems] == ["check Repo has MIT license -> failed: no LICENSE file at the "
                                             "repository root."]
    outcomes = [(r.outcome, r.detail.split(":")[0]) for r in verifier.local[-1]]
    assert outcomes == [(Outcome.SKIPPED, "skipped"), (Outcome.FAILED, "no LICENSE file at the repository root")]
    assert any(line.startswith(f"checks: browser checks skipped: cannot start {broken}") for line in lines)
    verifier.close()
