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


def site(total_id: str, *, computed: bool = True) -> str:
    """The sales page: its total typed into the HTML, and (computed) refreshed from data.csv by a script."""
    script = ('<script>fetch("data.csv").then((r) => r.text()).then((text) => {\n'
              '  const rows = text.trim().split("\\n").slice(1).map((line) => parseFloat(line.split(",")[1]));\n'
              f'  document.getElementById("{total_id}").textContent = String(rows.reduce((a, b) => a + b, 0));\n'
              "});</script>") if computed else ""
    page = ("<!doctype html>\n<html><head><title>Sales Summary</title></head>\n"
            f'<body><h1>Sales</h1><p>Total: <span id="{total_id}">5109.25</span></p>{script}</body></html>\n')
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


def test_a_typed_in_total_goes_back_as_such_and_the_computed_repair_is_kept(
    openrouter: OpenRouter, verifier: Verifier,
) -> None:
    openrouter.script({"content": site("total-sales", computed=False)}, {"content": site("total-sales")})
    result = run(openrouter, verifier)
    assert result.unresolved == [] and result.stats.check_repairs == 1 and b"fetch(" in result.site["index.html"]
    [repair] = repair_texts(openrouter)
    assert "These figures are typed into the page instead of computed." in repair
    assert "could not be published" not in repair and "These checks failed" not in repair
    assert "#total-sales showed 5109.25 both times (data.csv: sum of sales): compute it." in repair
    first, second = (verdict for _, verdict in verifier.verdicts)
    assert [c.check.index for c in first.copied] == [1] and second.copied == []
    assert verifier.verdict_for(result.site) is second


def test_a_repair_that_fails_more_checks_does_not_replace_the_better_site(
    openrouter: OpenRouter, verifier: Verifier,
) -> None:
    better = site("total-sales").replace("<title>Sales Summary</title>", "<title>Sales</title>")  # 1 failing
    worse = site("total").replace("<title>Sales Summary</title>", "<title>Sales</title>")  # 2 failing
    openrouter.script({"content": better}, {"content": worse}, {"content": worse})
    result = run(openrouter, verifier)
    assert result.stats.check_repairs == 2 and len(verifier.local) == 3
    assert b'id="total-sales"' in result.site["index.html"] and len(result.unresolved) == 1
    assert "document.title" in result.unresolved[0].message
    kept = verifier.verdict_for(result.site)
    assert kept is not None and [r.outcome for r in kept.results].count(Outcome.PASSED) == 3
    [first_repair, _] = repair_texts(openrouter)
    assert "These checks failed:" in first_repair and "could not be used" not in first_repair
