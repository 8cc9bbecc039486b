"""Generation with browser verification: failing checks go back to the model, with limits, through real sockets."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest

from action.generate import SoftChecks, generate
from action.llm import OpenRouterClient, RetryPolicy
from action.published import Published
from action.verify.browser import Browser, Outcome
from action.verify.verifier import Verifier
from deployer.brief import Brief, parse_brief
from tests.conftest import OpenRouter

CSV = b"product,sales\nPen,100.25\nBook,5009\n"
CHECKS = [
    {"js": "document.title === `Sales Summary`"},
    {"js": "Math.abs(parseFloat(document.querySelector(\"#total-sales\").textContent) - 5109.25) < 0.01"},
    "Repo has MIT license",
    "data.csv is committed as-is",
]


def site(total_id: str) -> str:
    page = ("<!doctype html>\n<html><head><title>Sales Summary</title></head>\n"
            f'<body><h1>Sales</h1><p>Total: <span id="{total_id}">5109.25</span></p></body></html>\n')
    return f'<file path="index.html">\n{page}</file>\n'


def make_brief() -> Brief:
    return parse_brief({
        "email": "s@example.com", "task": "sales", "round": 1, "nonce": "n", "brief": "Sum data.csv into #total-sales.",
        "evaluation_url": "http://127.0.0.1:9/notify", "checks": CHECKS,
        "attachments": [{"name": "data.csv", "url": "data:text/csv;base64," + base64.b64encode(CSV).decode()}],
    }, require_secret=False)


@pytest.fixture
def verifier(browser: Browser) -> Iterator[Verifier]:
    checker = Verifier.prepare(make_brief(), [], llm=None, prefix="/octo/sales/", browser=browser)
    yield checker
    checker.close()


def run(openrouter: OpenRouter, verifier: Verifier, **kwargs: Any) -> Any:
    model = OpenRouterClient(openrouter.key, ["sandbox/a"], base_url=openrouter.base_url,
                             retry=RetryPolicy(attempts=1, backoff=0.01, max_wait=0.1))
    brief = make_brief()
    return generate(brief, model, Published.of(brief, "octo"), year=2026,
                    soft_checks=SoftChecks(verifier.soft_check, **kwargs))


def repair_texts(openrouter: OpenRouter) -> list[str]:
    return [r["body"]["messages"][-1]["content"][0]["text"] for r in openrouter.requests()[1:]]


def test_a_correct_site_passes_every_check_without_a_repair(openrouter: OpenRouter, verifier: Verifier) -> None:
    openrouter.script({"content": site("total-sales")})
    result = run(openrouter, verifier)
    assert result.unresolved == [] and result.stats.repairs == 0
    assert [r.outcome for r in verifier.local[-1]] == [Outcome.PASSED] * 4
    assert len(openrouter.requests()) == 1


def test_a_wrong_id_is_named_in_the_repair_and_the_repaired_site_passes(
    openrouter: OpenRouter, verifier: Verifier,
) -> None:
    openrouter.script({"content": site("total")}, {"content": site("total-sales")})
    result = run(openrouter, verifier)
    assert result.unresolved == [] and (result.stats.repairs, result.stats.check_repairs) == (1, 1)
    assert b'id="total-sales"' in result.site["index.html"]
    [repair] = repair_texts(openrouter)
    assert CHECKS[1]["js"] in repair.replace('\\"', '"')  # the check, as the brief wrote it
    assert "-> threw: TypeError: Cannot read properties of null (reading 'textContent')" in repair
    assert "#total-sales: no element matches" in repair  # the relevant DOM
    assert [[r.outcome for r in run_] for run_ in verifier.local] == [
        [Outcome.PASSED, Outcome.THREW, Outcome.PASSED, Outcome.PASSED], [Outcome.PASSED] * 4]


def test_checks_still_failing_after_two_repairs_are_returned_not_raised(
    openrouter: OpenRouter, verifier: Verifier,
) -> None:
    openrouter.script(*[{"content": site("total")}] * 3)
    result = run(openrouter, verifier)
    assert (result.stats.completions, result.stats.check_repairs) == (3, 2)
    [problem] = result.unresolved
    assert "#total-sales" in problem.message and "threw" in problem.message
    assert len(verifier.local) == 3


def test_no_repair_when_the_deadline_forbids_it(openrouter: OpenRouter, verifier: Verifier) -> None:
    openrouter.script({"content": site("total")})
    result = run(openrouter, verifier, allowed=lambda: False)
    assert len(result.unresolved) == 1 and result.stats.repairs == 0 and len(openrouter.requests()) == 1


def test_a_broken_repair_answer_keeps_the_last_valid_site(openrouter: OpenRouter, verifier: Verifier) -> None:
    openrouter.script({"content": site("total")}, *[{"content": "no files at all"}] * 3)
    result = run(openrouter, verifier)
    assert b'id="total"' in result.site["index.html"] and len(result.unresolved) == 1
    assert result.stats.completions == 4  # the check repair, then two repairs of its broken answer
