"""OpenRouter and the evaluator misbehaving, one dispatch delivered twice at once, and re-runs, through real
`deployer run`s.

OpenRouter faults are scripted on the stand-in (`POST /_sandbox/script`); each ends notified once with the page
live, with the model that answered named in the job summary. The evaluator is stopped as a process and started
again on the same port, as a grader that is down for a while."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ActionRun, Deployer
from tests.faults.conftest import (
    FAST,
    FULL,
    Ledger,
    Outcome,
    World,
    assert_delivered,
    dispatch_event,
    fresh,
    notifications,
    observe,
)

SALES = "sum-of-sales.r1.json"
ERROR = {"code": 502, "message": "Provider returned error", "metadata": {"error_type": "provider_error"}}


def run(d: Deployer, brief: dict[str, Any], timeout: float = 180, **env: str) -> ActionRun:
    return d.run("repository_dispatch", dispatch_event(brief), extra_env={**FAST, **env}, timeout=timeout)


def chat_statuses(d: Deployer, since: int) -> list[tuple[str, int]]:
    """(model, status) of each chat request for a site after the first `since`, continuations of a cut answer
    included (the stand-in's log spans the module)."""
    return [(r["body"]["model"], r["status"]) for r in d.openrouter.site_requests()[since:]]


# (scenario, scripted answers, the model that must have answered in the end)
OPENROUTER_FAULTS: list[tuple[str, list[dict[str, Any]], str]] = [
    ("OpenRouter 429 with Retry-After", [{"status": 429, "headers": {"Retry-After": "1"}}], "sandbox/primary"),
    ("OpenRouter 502", [{"status": 502, "headers": {"Retry-After": "1"}}], "sandbox/primary"),
    ("OpenRouter 200 with an error object", [{"status": 200, "body": {"error": ERROR}}], "sandbox/fallback"),
    # Cut at max_tokens: continued on the same model (here the model answers afresh after the prefill).
    ("OpenRouter finish_reason length", [{"content": '<file path="index.html"><!doctype html><html><head><title>',
                                          "finish_reason": "length"}], "sandbox/primary"),
    ("OpenRouter empty content", [{"content": ""}], "sandbox/fallback"),
    ("OpenRouter primary failing hard, fallback answers",
     [{"status": 400, "model": "sandbox/primary",
       "body": {"error": {"code": 400, "message": "This endpoint's maximum context length is 8192 tokens"}}}],
     "sandbox/fallback"),
]


@pytest.mark.parametrize("scenario, script, answered_by", OPENROUTER_FAULTS, ids=[s for s, _, _ in OPENROUTER_FAULTS])
def test_openrouter_fault_then_an_answer(deployer: Deployer, ledger: Ledger, scenario: str,
                                         script: list[dict[str, Any]], answered_by: str) -> None:
    since = len(deployer.openrouter.site_requests())
    deployer.openrouter.script(*script)
    brief = fresh(SALES, deployer)
    result = run(deployer, brief)
    assert_delivered(deployer, brief, result, ledger, scenario)
    statuses = chat_statuses(deployer, since)
    assert statuses[-1] == (answered_by, 200) and len(statuses) == 2, statuses
    assert f"**model**: {answered_by}" in result.summary
    # The summary says why the first model did not answer, what the answers used and what the run cost.
    assert ("**models skipped**: sandbox/primary: " in result.summary) is (answered_by == "sandbox/fallback")
    assert re.search(r"\*\*tokens\*\*: \d+ prompt .*\d+ tokens, \$\d+\.\d{4}", result.summary), result.summary
    assert re.search(r"\*\*LLM cost\*\*: \$\d+\.\d{4} \(every answer of this run\)", result.summary)


def test_every_model_failing_is_a_clear_failure_and_nothing_is_committed(deployer: Deployer, ledger: Ledger) -> None:
    """Primary and fallback both fail (each retried, then given up): one ::error:: naming the generate stage and
    both models, no write to GitHub at all, no notification."""
    down = {"status": 503, "headers": {"Retry-After": "0"},
            "body": {"error": {"code": 503, "message": "No provider available"}}}
    deployer.openrouter.script(*[down] * 8)  # 4 attempts per model
    brief = fresh(SALES, deployer)
    result = run(deployer, brief)
    writes = [c for c in deployer.github.sandbox("GET", "requests").json() if c["method"] != "GET"]
    ledger("every model failing -> named failure, nothing committed",
           "generate stage failed, nothing committed" if result.returncode == 1 and not writes else "unexpected",
           accepted=1, notified=len(notifications(deployer, brief)), lost=0, duplicated=0)
    assert result.returncode == 1
    assert len(result.errors) == 1
    assert "generate stage failed" in result.errors[0]
    assert "sandbox/primary" in result.errors[0] and "sandbox/fallback" in result.errors[0]
    assert writes == [] and notifications(deployer, brief) == []


def restart_evaluator(world: World) -> None:
    port = world.evaluator.url.rsplit(":", 1)[1]
    service = world.services.start("evaluator", "sandbox", "evaluator", "--port", port)
    assert service.url == world.evaluator.url
    world.evaluator.service = service


@pytest.mark.parametrize("down_s", [pytest.param(12.0, id="12s"), pytest.param(
    180.0, id="3min", marks=[pytest.mark.skipif(not FULL, reason="long case: set DEPLOYER_FULL_FAULTS=1 to run it"),
                             pytest.mark.timeout(600)])])
def test_evaluator_down_for_a_while_then_up(deployer: Deployer, world: World, ledger: Ledger, down_s: float) -> None:
    """The evaluator process is stopped before the run and started again on the same port `down_s` later; the
    notification's backoff (1, 2, 4, ... 60 s) reaches it before the deadline."""
    assert world.evaluator.service.stop() == 0
    brief = fresh(SALES, deployer)
    restarted = threading.Timer(down_s, restart_evaluator, args=(world,))
    restarted.start()
    try:
        result = run(deployer, brief, timeout=down_s + 180)
    finally:
        restarted.join()
    assert_delivered(deployer, brief, result, ledger, f"evaluator down {down_s:.0f} s, then up")
    attempts = [line for line in result.stdout.splitlines() if line.startswith("attempt ")]
    assert "ConnectionError" in attempts[0] and attempts[-1].endswith("HTTP 200"), attempts


def test_the_same_dispatch_delivered_twice_at_once(deployer: Deployer, ledger: Ledger, tmp_path: Path) -> None:
    """Two runs of one event at the same moment: one commit for the round (the run whose ref update loses finds
    the winner's commit), and one notification: the runs claim it on the commit's delivery record (a `pending`
    commit status) and only the oldest claim POSTs; the other reports the delivery it waited for."""
    brief = fresh(SALES, deployer)
    runners = [Deployer(deployer.github, deployer.openrouter, deployer.evaluator, tmp_path / f"runner-{n}")
               for n in (1, 2)]
    with ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda d: run(d, brief), runners))
    seen = observe(deployer, brief)
    shas = {n["commit_sha"] for n in notifications(deployer, brief)}
    ledger("same dispatch delivered twice at once", f"{seen.commits} commit, notified {seen.notified}x "
           f"({len(shas)} distinct commit)", accepted=1, notified=min(seen.notified, 1), lost=seen.lost,
           duplicated=seen.duplicated)  # a second notification of the same commit is a duplicate too
    for result in runs:
        assert result.returncode == 0, result.stdout + result.stderr
    assert seen == Outcome(notified=1, commits=1, live=True), seen
    assert {r.outputs["commit-sha"] for r in runs} == shas and len(shas) == 1
    told = [r for r in runs if "already notified at " in r.summary]
    assert len(told) == 1, [r.summary for r in runs]
