"""`deployer run` verifies before it notifies: checks in a headless browser, repairs, and the live page's results."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import requests

from tests.e2e.conftest import Deployer, sample
from tests.e2e.test_action_run import dispatch_event
from tests.verify.support import graded, require_browser

TOTAL_CHECK = 'Math.abs(parseFloat(document.querySelector("#total-sales").textContent) - 5109.25) < 0.01'


def wrong_site(total_id: str = "total") -> dict[str, object]:
    """A valid sum-of-sales page whose total sits under the wrong id."""
    page = ('<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Sales Summary iklj4</title>\n'
            '<link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/bootstrap@5.3.3/dist/css/bootstrap.min.css">'
            f'\n</head><body><h1>Sales</h1><p>Total: <span id="{total_id}">5109.25</span></p>'
            '<a href="data.csv">data.csv</a></body></html>\n')
    return {"content": f'<file path="index.html">\n{page}</file>\n'}


def user_text(request: dict[str, object]) -> str:
    body = request["body"]
    assert isinstance(body, dict)
    return body["messages"][-1]["content"][0]["text"]


def register(deployer: Deployer, brief: dict[str, object]) -> None:
    """Tell the evaluator what the grader sent, as a grader keeps its own checks."""
    body = {"task": brief["task"], "round": brief["round"], "checks": brief["checks"],
            "attachments": [a["name"] for a in brief["attachments"]]}  # type: ignore[union-attr]
    requests.post(f"{deployer.evaluator.url}/_sandbox/checks", json=body, timeout=10).raise_for_status()


def test_sum_of_sales_records_local_and_live_checks(deployer: Deployer) -> None:
    require_browser()
    brief = sample("sum-of-sales.r1.json", deployer.evaluator.notify_url)
    second = sample("sum-of-sales.r2.json", deployer.evaluator.notify_url)
    register(deployer, brief)
    register(deployer, second)
    result = deployer.run("repository_dispatch", dispatch_event(brief))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "- **checks**: 3/3 passed, 0 failed before publishing, after 0 check repair(s)" in result.summary
    assert "- **live checks**: 3/3 passed, 0 failed" in result.summary
    table = result.summary.split("### Checks", 1)[1]
    assert table.count("✅ passed") == 6  # three checks, before publishing and live
    assert "::group::verify" in result.stdout and "::group::live checks" in result.stdout
    assert f"live checks on {result.outputs['pages-url']}: 3/3 passed" in result.stdout

    # Round 2: round 1's checks run again beside round 2's, locally and live.
    again = deployer.run("repository_dispatch", dispatch_event(second))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "- **live checks**: 5/5 passed, 0 failed" in again.summary
    assert again.summary.count("js (earlier round)") == 3

    # The evaluator graded each notified live page: round 2 with round 1's checks too.
    first_note, second_note = graded(deployer.evaluator, 2)
    assert [r["outcome"] for r in first_note["checks"]["results"]] == ["passed"] * 3
    assert [r["outcome"] for r in second_note["checks"]["results"]] == ["passed"] * 5
    checked = [json.loads(r["check"]) for r in second_note["checks"]["results"]]
    assert checked == second["checks"] + brief["checks"]  # type: ignore[operator]


def test_a_wrong_id_is_repaired_before_publishing(deployer: Deployer) -> None:
    require_browser()
    deployer.openrouter.script(wrong_site())  # then the built-in model answers the repair correctly
    brief = sample("sum-of-sales.r1.json", deployer.evaluator.notify_url)
    result = deployer.run("repository_dispatch", dispatch_event(brief))
    assert result.returncode == 0, result.stdout + result.stderr
    first, repair = deployer.openrouter.generation_requests()
    assert "<problems>" not in user_text(first)
    problems = user_text(repair).split("<problems>", 1)[1].split("</problems>", 1)[0]
    assert json.dumps({"js": TOTAL_CHECK}, separators=(",", ":")) in problems  # the failing check, named
    assert "-> threw: TypeError: Cannot read properties of null" in problems
    assert "#total-sales: no element matches" in problems
    assert "3/3 passed, 0 failed before publishing, after 1 check repair(s)" in result.summary
    assert "- **live checks**: 3/3 passed" in result.summary
    assert len(deployer.evaluator.notifications()) == 1


def test_checks_failing_after_two_repairs_are_published_and_reported(deployer: Deployer) -> None:
    require_browser()
    deployer.openrouter.script(wrong_site(), wrong_site("sum"), wrong_site("sales-total"))
    brief = sample("sum-of-sales.r1.json", deployer.evaluator.notify_url)
    accepted = datetime.now(UTC)
    result = deployer.run("repository_dispatch", dispatch_event(brief, accepted.isoformat()))
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(deployer.openrouter.generation_requests()) == 3  # the answer and two check repairs, then it publishes
    assert "2/3 passed, 1 failed before publishing, after 2 check repair(s)" in result.summary
    assert "> published with a failing check: check " in result.summary and "#total-sales" in result.summary
    assert "- **live checks**: 2/3 passed, 1 failed" in result.summary
    assert re.search(r"^::warning::published with a failing check", result.stdout, re.M)
    [note] = deployer.evaluator.notifications()
    assert note["body"]["commit_sha"] == result.outputs["commit-sha"]
    assert note["received_ts"] < accepted.timestamp() + 10 * 60  # before the deadline


def test_verify_false_skips_the_browser(deployer: Deployer) -> None:
    deployer.openrouter.script(wrong_site())
    brief = sample("sum-of-sales.r1.json", deployer.evaluator.notify_url)
    result = deployer.run("repository_dispatch", dispatch_event(brief), extra_env={"DEPLOYER_VERIFY": "false"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(deployer.openrouter.generation_requests()) == 1
    assert "**checks**" not in result.summary and "::group::verify" not in result.stdout


def test_a_round_two_check_failure_is_repaired_through_edits(deployer: Deployer) -> None:
    require_browser()
    first = deployer.run("repository_dispatch", dispatch_event(sample("sum-of-sales.r1.json",
                                                                      deployer.evaluator.notify_url)))
    assert first.returncode == 0, first.stdout + first.stderr
    page = ('<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Sales Summary iklj4</title>\n'
            '<link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/bootstrap@5.3.3/dist/css/bootstrap.min.css">'
            '\n</head><body><p>Total: <span id="total-sales">5109.25</span></p>\n<table id="products" class="table">'
            "<tbody><tr><td>All</td><td>5109.25</td></tr></tbody></table></body></html>\n")
    deployer.openrouter.script({"content": f'<file path="index.html">\n{page}</file>\n'})
    second = deployer.run("repository_dispatch", dispatch_event(sample("sum-of-sales.r2.json",
                                                                       deployer.evaluator.notify_url)))
    assert second.returncode == 0, second.stdout + second.stderr
    assert "5/5 passed, 0 failed before publishing, after 1 check repair(s)" in second.summary
    repair = user_text(deployer.openrouter.generation_requests()[-1])
    assert "#product-sales tbody tr" in repair
