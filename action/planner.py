"""The round's plan from the model: one short request before generation, its answer read and validated against the
brief; the sentence patterns (`round_plan.plan_round`) whenever that fails.

The request (system prompt `prompts/plan.md`) is recognisable by its `<plan-round>` block: the brief as
`<brief task round>`, `<round-checks>` (one JSON line `{"id", "check"}` per check), `<round-attachments>` (one JSON
line `{"name", "media_type", "bytes", "head"}` per attachment of this round, `head` the first lines of a text file)
and from round 2 `<published-files>` (`{"path", "bytes"}` per file the model wrote before). It asks for the JSON
schema `prompts/plan.schema.json` as structured output (sent only to models that support it, `action/llm.py`);
answers in prose or fences are read by `action/json_answer.py`. The answer is then checked against the brief
(`action/plan_check.py`). A model that does not answer, an answer that holds no plan, and a plan that fails a check
all give the patterns' plan, with the reason (`Planned.reason`), so a round is never worse than before.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from action.json_answer import JSONAnswerError, answer_object
from action.llm import ChatClient, LLMError
from action.plan_check import InvalidPlan, checked_plan
from action.prompt import brief_block, format_check, is_text, load
from action.published import Published
from action.round_plan import RoundPlan, plan_round
from deployer.brief import Attachment, Brief, DataURIError

HEAD_LINES = 12  # of each text attachment, so the planner sees what a file is without its whole text
HEAD_CHARS = 800
PUBLISHED_LISTED = 200  # published paths listed, at most
ANSWER_TOKENS_BASE = 1500
ANSWER_TOKENS_PER_ITEM = 150  # per attachment and check: an entry and maybe a quote


@dataclass(frozen=True)
class Planned:
    """The plan a round follows and where it came from: `by` is "model" (then `reason` names the model that
    answered) or "patterns" (then `reason` says why the model's plan was not used)."""

    plan: RoundPlan
    by: str
    reason: str = ""


def plan_messages(brief: Brief, published: Published) -> list[dict[str, object]]:
    checks = [json.dumps({"id": i, "check": format_check(c)}, ensure_ascii=False) for i, c in enumerate(brief.checks)]
    files = [json.dumps({"path": p, "bytes": len(c.encode("utf-8"))}, ensure_ascii=False)
             for p, c in sorted(published.model_files.items())[:PUBLISHED_LISTED]]
    body = [
        "Plan this round before any code is written.", "<plan-round>", brief_block(brief),
        "<round-checks>", *checks, "</round-checks>",
        "<round-attachments>", *(_attachment_line(a) for a in brief.attachments), "</round-attachments>",
    ]
    if files:
        body += ["<published-files>", *files, "</published-files>"]
    body.append("</plan-round>")
    return [{"role": "system", "content": load("plan.md")},
            {"role": "user", "content": [{"type": "text", "text": "\n".join(body)}]}]


def plan_format() -> dict[str, object]:
    """The `response_format` of a planning request: a strict JSON schema of the plan ([SO]), which the client sends
    only to models that support structured outputs; the others still get the prompt's instructions."""
    return {"type": "json_schema", "json_schema": {"name": "round_plan", "strict": True,
                                                   "schema": json.loads(load("plan.schema.json"))}}


def read_plan(answer: str, brief: Brief, published: Published) -> RoundPlan:
    """The plan in a model's answer, checked against the brief; JSONAnswerError or InvalidPlan say what was wrong."""
    raw = answer_object(answer, "attachments", 'a plan (an object with "attachments")')
    return checked_plan(raw, brief, published)


def make_plan(brief: Brief, published: Published, llm: ChatClient | None) -> Planned:
    """The model's plan when it answers with a valid one, else the patterns' plan and why."""
    fallback = plan_round(brief, published)
    if llm is None:
        return Planned(fallback, "patterns", "no model was asked")
    tokens = ANSWER_TOKENS_BASE + ANSWER_TOKENS_PER_ITEM * (len(brief.attachments) + len(brief.checks))
    try:
        completion = llm.complete(plan_messages(brief, published), response_format=plan_format(), max_tokens=tokens)
    except LLMError as exc:
        return Planned(fallback, "patterns", f"the planning request failed: {exc}")
    try:
        plan = read_plan(completion.content, brief, published)
    except JSONAnswerError as exc:
        return Planned(fallback, "patterns", f"the model's plan could not be read: {exc}")
    except InvalidPlan as exc:
        return Planned(fallback, "patterns", f"the model's plan is invalid: {exc}")
    return Planned(replace(plan, site_prefix=fallback.site_prefix), "model", completion.model)


def _attachment_line(attachment: Attachment) -> str:
    try:
        decoded = attachment.decode()
    except DataURIError:
        return json.dumps({"name": attachment.name, "media_type": "unknown", "bytes": 0, "head": ""})
    head = ""
    if is_text(decoded.media_type, decoded.data):
        lines = decoded.data.decode("utf-8", errors="replace").splitlines()[:HEAD_LINES]
        head = "\n".join(lines)[:HEAD_CHARS]
    return json.dumps({"name": attachment.name, "media_type": decoded.media_type, "bytes": len(decoded.data),
                       "head": head}, ensure_ascii=False)
