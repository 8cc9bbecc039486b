"""The OpenRouter stand-in writing as real models do (`--style varied`) sometimes types the figure a check expects
into the page; verification catches it with other data and the repair computes it. Through sockets and a browser."""

from __future__ import annotations

import json
from pathlib import Path

import requests

from action.generate import SoftChecks, coder_for, generate
from action.llm import OpenRouterClient, RetryPolicy
from action.parse import ParseError, parse_files
from action.prompt import Message
from action.published import Published
from action.round_plan import plan_round
from action.verify.browser import Browser, Outcome
from action.verify.verifier import Verifier
from deployer.brief import Brief, parse_brief
from deployer.models import Model
from tests.conftest import OpenRouter

SAMPLE = Path(__file__).parents[2] / "sandbox" / "briefs" / "sum-of-sales.r1.json"
SEEDS = range(60)  # the stand-in copies in 30% of first answers: one of these does


def first_request(brief: Brief) -> list[Message]:
    """The first request `generate` makes for this brief (the same coder, plan and prompt sections)."""
    published = Published.of(brief, "octo")
    first = coder_for(brief, published, plan_round(brief, published), [], log=lambda _m: None).first_messages()
    return first if isinstance(first, list) else first(Model("sandbox/a", strong=True))


def copying_seed(openrouter: OpenRouter, client: OpenRouterClient, brief: Brief) -> int:
    """A seed whose first answer to this brief copies a check's figure, found from the stand-in's own log
    (`answer.copied`): the same seed and request always get the same answer."""
    for seed in SEEDS:
        requests.post(f"{openrouter.url}/_sandbox/style", json={"style": "varied", "seed": seed},
                      timeout=10).raise_for_status()
        requests.delete(f"{openrouter.url}/_sandbox/requests", timeout=10).raise_for_status()
        answer = client.complete(first_request(brief)).content
        copied = [r["answer"]["copied"] for r in openrouter.requests() if r.get("answer")]
        try:  # every file the stand-in writes, as it meant them (our parser may not read every shape yet)
            files = parse_files(answer)
            readable = set(files) == {"index.html", "script.js", "style.css"} and "(draft)" not in files["index.html"]
        except ParseError:
            readable = False
        if readable and copied and copied[-1] == ["total-sales"]:
            requests.delete(f"{openrouter.url}/_sandbox/requests", timeout=10).raise_for_status()
            return seed
    raise AssertionError(f"no seed in {SEEDS} makes the stand-in copy a figure")


def test_a_copied_total_is_caught_with_other_data_and_repaired(openrouter: OpenRouter, browser: Browser) -> None:
    brief = parse_brief(json.loads(SAMPLE.read_text()), require_secret=False)
    client = OpenRouterClient(openrouter.key, ["sandbox/a"], base_url=openrouter.base_url,
                              retry=RetryPolicy(attempts=1, backoff=0.01, max_wait=0.1))
    seed = copying_seed(openrouter, client, brief)
    verifier = Verifier.prepare(brief, [], llm=None, prefix="/sales/", browser=browser)
    result = generate(brief, client, Published.of(brief, "octo"), year=2026,
                      soft_checks=SoftChecks(verifier.soft_check))

    first = verifier.verdicts[0][1]
    assert [r.outcome for r in first.results] == [Outcome.PASSED] * 3, f"seed {seed}"  # today's checks all pass
    [copied] = first.copied
    assert [(b.selector, b.shown, b.source) for b in copied.bound] == [
        ("#total-sales", "5109.25", "data.csv: sum of sales")]
    logged = openrouter.requests()
    assert logged[0]["answer"]["copied"] == ["total-sales"]
    # The repair is the next request that ends with our message (a continuation of a long answer ends with the
    # answer so far, as an assistant prefill).
    repair_request = next(r for r in logged[1:] if r["body"]["messages"][-1]["role"] == "user")
    repair = repair_request["body"]["messages"][-1]["content"][-1]["text"]
    assert "These figures are typed into the page instead of computed." in repair
    assert "#total-sales showed 5109.25 both times (data.csv: sum of sales): compute it." in repair

    kept = verifier.verdict_for(result.site)
    assert kept is not None and kept.copied == [] and result.unresolved == []
    assert [r.outcome for r in kept.results] == [Outcome.PASSED] * 3
    assert '"csv": "data.csv"' in result.site["script.js"].decode()  # the repaired page reads the data
