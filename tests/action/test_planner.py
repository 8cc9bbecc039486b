"""The round planner: the model's plan read from its answer, believed only where the brief bears it out, and the
sentence patterns whenever it fails; over the table of phrasings (tests/action/plan_phrasings.py) the plan the
stand-in's model writes takes the intended decisions, as the fallback does (tests/action/test_brief_patterns.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from action.json_answer import JSONAnswerError
from action.llm import OpenRouterClient
from action.plan_check import InvalidPlan
from action.planner import make_plan, plan_messages, read_plan
from action.published import Published
from action.round_plan import AttachmentUse, NamedString
from sandbox.openrouter import planning
from tests.action.plan_phrasings import PHRASINGS, Phrasing, assert_decisions
from tests.conftest import OpenRouter

FIX = Phrasing("You are given execute.py (with a bug) and data.csv. Commit execute.py after fixing it; keep data.csv "
               'as-is. Add CI that runs ruff; do not commit result.json. Title the page "Run report".',
               ("execute.py", "data.csv"), checks=({"js": "document.title === 'Run report'"}, "result.json is absent"))
QUOTE = "Commit execute.py after fixing it"


def plan(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "attachments": [{"name": "execute.py", "use": "rewrite", "quote": QUOTE},
                        {"name": "data.csv", "use": "keep", "quote": ""}],
        "not_committed": ["result.json"],
        "workflow": {"wanted": True, "does": "runs ruff"},
        "build": {"needed": False, "does": ""},
        "files": ["index.html", ".github/workflows/ci.yml"],
        "exact_strings": [{"text": "Run report", "kind": "title", "checks": [0]}],
        "touches": [],
    }
    raw.update(changes)
    return raw


def read(raw: dict[str, Any], phrasing: Phrasing = FIX) -> Any:
    brief = phrasing.make()
    return read_plan(f"Here is the plan:\n```json\n{json.dumps(raw)}\n```\n", brief, Published.of(brief, "octo"))


def test_a_plan_the_brief_bears_out_becomes_the_round_plan() -> None:
    got = read(plan())
    assert got.attachments == (AttachmentUse("execute.py", "rewrite", QUOTE), AttachmentUse("data.csv", "keep"))
    assert got.rewritable == {"execute.py"} and got.excluded == {"result.json"}
    assert got.workflows_allowed and got.workflow == "runs ruff" and got.build == ""
    assert got.files == ("index.html", ".github/workflows/ci.yml")
    assert got.named == (NamedString("Run report", "title", (0,)),) and got.touches == ()


def stand_in_plan(phrasing: Phrasing, mistake: str | None = None) -> Any:
    """The plan the stand-in's model writes for the phrasing's planning request, read as the action reads it."""
    brief = phrasing.make()
    published = Published.of(brief, "octo")
    text = plan_messages(brief, published)[1]["content"][0]["text"]  # type: ignore[index]
    return read_plan(planning.answer(text, mistake), brief, published)


@pytest.mark.parametrize("phrasing", PHRASINGS, ids=lambda p: p.brief[:60])
def test_the_model_s_plan_takes_the_intended_decisions(phrasing: Phrasing) -> None:
    assert_decisions(stand_in_plan(phrasing), phrasing)


@pytest.mark.parametrize(("mistake", "reason"), [
    ("unquoted-rewrite", "the quote 'The brief asks for changes to this file.' is not in the brief"),
    ("misnamed-attachment", "'Execute.pys' is not an attachment of this round"),
    ("unnamed-exclusion", "not_committed: secrets.json is not named in the brief"),
])
def test_each_mistake_the_stand_in_makes_is_caught(mistake: str, reason: str) -> None:
    assert mistake in planning.MISTAKES
    with pytest.raises(InvalidPlan) as caught:
        stand_in_plan(FIX, mistake)
    assert reason in str(caught.value)


def test_a_quote_may_differ_in_spacing_case_and_quotes_and_lean_on_the_sentence_before() -> None:
    assert read(plan(attachments=[{"name": "execute.py", "use": "rewrite",
                                   "quote": "  commit EXECUTE.PY   after fixing it."}])).rewritable == {"execute.py"}
    pronoun = Phrasing("The attached script.js has a bug. Correct it and publish the fixed file.", ("script.js",))
    raw = plan(attachments=[{"name": "script.js", "use": "rewrite", "quote": "Correct it and publish the fixed file."}],
               not_committed=[], exact_strings=[])
    assert read(raw, pronoun).rewritable == {"script.js"}


@pytest.mark.parametrize(("changes", "reason"), [
    ({"attachments": [{"name": "execute.py", "use": "rewrite", "quote": ""}]},
     "execute.py is to be rewritten, but the plan quotes no sentence of the brief that asks for it"),
    ({"attachments": [{"name": "execute.py", "use": "rewrite", "quote": "The brief asks to fix execute.py."}]},
     "execute.py is to be rewritten, but the quote 'The brief asks to fix execute.py.' is not in the brief"),
    ({"attachments": [{"name": "data.csv", "use": "rewrite", "quote": QUOTE}]},
     "data.csv is to be rewritten, but the quoted sentence does not name data.csv"),
    ({"attachments": [{"name": "execute.py", "use": "rewrite",
                       "quote": "You are given execute.py (with a bug) and data.csv."}]},
     "the quoted sentence does not ask for a change"),
    ({"attachments": [{"name": "data.csv", "use": "rewrite", "quote": "keep data.csv as-is"}]},
     "the quoted sentence does not ask for a change"),
    ({"attachments": [{"name": "execute.pyy", "use": "keep", "quote": ""}]},
     "'execute.pyy' is not an attachment of this round (they are: execute.py, data.csv)"),
    ({"attachments": [{"name": "data.csv", "use": "keep", "quote": ""}, {"name": "data.csv", "use": "data",
                                                                       "quote": ""}]}, "data.csv is listed twice"),
    ({"attachments": [{"name": "data.csv", "use": "copy", "quote": ""}]}, "is not {\"name\", \"use\""),
    ({"not_committed": ["data.json"]}, "not_committed: data.json is not named in the brief"),
    ({"not_committed": ["data.csv"]}, "data.csv is an attachment, and attachments are committed"),
    ({"workflow": {"wanted": "yes", "does": ""}}, 'workflow is not {"wanted": true|false, "does": "..."}'),
    ({"files": ["../secrets.txt"]}, "files: '../secrets.txt' is not a plain relative path"),
    ({"exact_strings": [{"text": "Run Report", "kind": "title", "checks": [0]}]},
     "exact_strings: 'Run Report' is not in the brief or a check as written"),
    ({"exact_strings": [{"text": "Run report", "kind": "title", "checks": [5]}]}, "the checks are 0-1"),
    ({"not_committed": "result.json"}, "not_committed is str, not a list"),
])
def test_a_plan_the_brief_does_not_bear_out_is_rejected_with_the_reason(changes: dict[str, Any], reason: str) -> None:
    with pytest.raises(InvalidPlan) as caught:
        read(plan(**changes))
    assert reason in str(caught.value)


def test_a_plan_missing_fields_or_missing_altogether_is_named() -> None:
    raw = plan()
    del raw["touches"], raw["build"]
    with pytest.raises(InvalidPlan, match="the plan has no build, touches"):
        read(raw)
    brief = FIX.make()
    with pytest.raises(JSONAnswerError, match='not JSON: it holds no a plan'):
        read_plan("I would fix execute.py and keep data.csv.", brief, Published.of(brief, "octo"))


def test_the_request_shows_the_brief_checks_attachments_and_published_files() -> None:
    brief = FIX.make(round_number=2)
    published = Published.of(brief, "octo", {"index.html": b"<p>x</p>", "script.js": b"x()\n"}, head="h" * 40)
    system, user = plan_messages(brief, published)
    text = user["content"][0]["text"]  # type: ignore[index]
    assert system["content"].startswith("You plan one round")
    assert '<brief task="phrasing" round="2">' in text and '{"id": 0, "check": "{\\"js\\":' in text
    assert '"name": "execute.py", "media_type": "text/x-python", "bytes": 51, "head": "import csv' in text
    assert '<published-files>\n{"path": "index.html", "bytes": 8}\n{"path": "script.js", "bytes": 4}' in text


def client(openrouter: OpenRouter, models: tuple[str, ...] = ("sandbox/a",)) -> OpenRouterClient:
    return OpenRouterClient(openrouter.key, list(models), base_url=openrouter.base_url)


def test_an_invalid_plan_falls_back_to_the_patterns_with_the_reason(openrouter: OpenRouter) -> None:
    brief = FIX.make()
    bad = plan(attachments=[{"name": "data.csv", "use": "rewrite", "quote": "keep data.csv as-is"}])
    openrouter.script({"plan": True, "content": json.dumps(bad)})
    planned = make_plan(brief, Published.of(brief, "octo"), client(openrouter))
    assert planned.by == "patterns"
    assert planned.reason == ("the model's plan is invalid: attachments: data.csv is to be rewritten, but the quoted "
                              "sentence does not ask for a change")
    assert planned.plan.rewritable == {"execute.py"} and planned.plan.excluded == {"result.json"}


def test_no_answer_or_no_plan_falls_back_to_the_patterns(openrouter: OpenRouter) -> None:
    brief = FIX.make()
    openrouter.script({"plan": True, "status": 400, "body": None, "message": "bad"})
    failed = make_plan(brief, Published.of(brief, "octo"), client(openrouter))
    assert failed.by == "patterns" and failed.reason.startswith("the planning request failed: all models failed")
    openrouter.script({"plan": True, "content": "Sure, I will keep everything as it is."})
    unread = make_plan(brief, Published.of(brief, "octo"), client(openrouter))
    assert unread.by == "patterns" and unread.reason.startswith("the model's plan could not be read: the answer is")
    assert unread.plan.rewritable == {"execute.py"}


VARIED = Phrasing("You are given execute.py (with a bug) and data.csv. Commit execute.py after fixing it; keep "
                  "data.csv as-is. Add CI that runs ruff; do not commit result.json.", ("execute.py", "data.csv"),
                  rewrite=frozenset({"execute.py"}), keep=frozenset({"data.csv"}),
                  excluded=frozenset({"result.json"}), workflow=True)


def test_the_varied_stand_in_s_plans_are_read_or_rejected_and_the_round_decides_the_same(
        openrouter: OpenRouter) -> None:
    """Over seeds, the varied style writes the plan in prose, in a fence or bare, sometimes with a field wrong: a
    plan read gives the intended decisions, a wrong one is rejected with its reason and the patterns give them."""
    brief = VARIED.make()
    reasons = []
    for seed in range(12):
        requests.post(f"{openrouter.url}/_sandbox/style", json={"style": "varied", "seed": seed},
                      timeout=10).raise_for_status()
        planned = make_plan(brief, Published.of(brief, "octo"), client(openrouter, ("sandbox/a", "sandbox/b")))
        assert_decisions(planned.plan, VARIED)
        reasons.append(planned.reason if planned.by == "patterns" else planned.by)
    answers = [r["answer"] for r in openrouter.requests()]  # type: ignore[index]
    assert {a["shape"] for a in answers} >= {"prose-json", "fenced-json"}  # type: ignore[index]
    mistakes = [a["mistake"] for a in answers if a["mistake"]]  # type: ignore[index]
    assert "model" in reasons and len(mistakes) == sum(r.startswith("the model's plan is invalid") for r in reasons)
    assert len(mistakes) >= 1
