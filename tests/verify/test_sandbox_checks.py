"""The captcha sample end to end in one process: the stand-in translates its plain-English checks, builds the app,
and every check (repository ones in code, page ones as translated JavaScript) passes in the browser."""

from __future__ import annotations

import json
from pathlib import Path

from action.generate import SoftChecks, generate
from action.llm import OpenRouterClient, RetryPolicy
from action.published import Published
from action.verify.browser import Browser, Outcome
from action.verify.checks import Kind
from action.verify.verifier import Verifier
from deployer.brief import parse_brief
from sandbox.openrouter.checks import answer
from tests.conftest import OpenRouter

SAMPLES = Path(__file__).resolve().parents[2] / "sandbox" / "briefs"


def test_the_stand_in_answers_a_translation_request_strictly() -> None:
    request = "<translate-checks>\n" + "\n".join(json.dumps(line) for line in [
        {"id": 2, "check": "Page displays captcha URL passed at ?url=...", "query": "?url={site}sample.png"},
        {"id": 3, "check": "Page displays solved captcha text within 5 seconds", "query": ""},
        {"id": 4, "check": "The page title is 'Captcha Solver'", "query": ""},
        {"id": 5, "check": "The code is well structured", "query": ""},
    ]) + "\n</translate-checks>"
    entries = {e["id"]: e for e in json.loads(answer(request))["checks"]}
    assert "URLSearchParams(location.search).get(\"url\")" in entries[2]["js"]
    assert "Date.now() + 5000" in entries[3]["js"]
    assert entries[4]["js"] == 'document.title === "Captcha Solver"'
    assert entries[5]["js"] is None and entries[5]["reason"]


def test_captcha_sample_passes_its_translated_checks(openrouter: OpenRouter, browser: Browser) -> None:
    brief = parse_brief(json.loads((SAMPLES / "captcha-solver.r1.json").read_text()))
    model = OpenRouterClient(openrouter.key, ["sandbox/a"], base_url=openrouter.base_url,
                             retry=RetryPolicy(attempts=1, backoff=0.01, max_wait=0.1))
    verifier = Verifier.prepare(brief, [], llm=model, prefix="/sandbox/captcha/", browser=browser)
    assert [(c.kind, c.js is not None) for c in verifier.plan.checks] == [
        (Kind.REPO, False), (Kind.REPO, False), (Kind.PAGE, True), (Kind.PAGE, True)]
    result = generate(brief, model, Published.of(brief, "sandbox"), year=2026,
                      soft_checks=SoftChecks(verifier.soft_check))
    assert result.unresolved == [] and result.stats.repairs == 0
    [checked] = verifier.local
    assert [(r.outcome, r.check.kind) for r in checked] == [(Outcome.PASSED, Kind.REPO)] * 2 + [
        (Outcome.PASSED, Kind.PAGE)] * 2
    assert checked[2].url.endswith("?url=" + checked[2].url.split("?url=")[0] + "sample.png")
    assert len(openrouter.requests()) == 2  # one translation for both page checks, one generation
