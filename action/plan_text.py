"""The round plan shown to people and to the model: a compact table for the job summary, and the short plan
section of the generation prompt (`prompts/plan-section.md`). Pure, apart from reading that prompt file."""

from __future__ import annotations

from string import Template

from action.prompt import load
from action.round_plan import AttachmentUse, NamedString, RoundPlan

USE_WORDS = {
    "keep": "committed byte for byte, as the brief asks; do not write it",
    "rewrite": "write your corrected version under this name (the brief: {quote})",
    "data": "input the app reads; committed unchanged, do not write it",
}
MAX_CELL = 160  # characters of a free-text cell in the summary table


def plan_section(plan: RoundPlan) -> str:
    """The plan as the generation prompt's `<round-plan>` section: only what the plan decided."""
    lines = [f"- {a.name}: {_use(a)}" for a in plan.attachments]
    if plan.excluded:
        lines.append(f"- never committed: {', '.join(sorted(plan.excluded))} (the site must not need them in the "
                     "repository)")
    lines.append(f"- a GitHub Actions workflow: {plan.workflow or 'asked for'}" if plan.workflows_allowed
                 else "- no GitHub Actions workflow: the brief does not ask for one")
    if plan.build:
        lines.append(f"- a build step: {plan.build}")
    if plan.files:
        lines.append(f"- files: {', '.join(plan.files)}")
    lines += [f"- exact {_named(n)}" for n in plan.named]
    if plan.touches:
        lines.append(f"- this change touches: {', '.join(plan.touches)}")
    return Template(load("plan-section.md")).substitute(lines="\n".join(lines)).rstrip("\n")


def plan_table(plan: RoundPlan, by: str) -> str:
    """The plan as a Markdown table for the job summary; `by` says who made it (and why not the model)."""
    rows = [(a.name, a.use + (f": {_quoted(a.quote)}" if a.quote else "")) for a in plan.attachments]
    rows += [
        ("never committed", ", ".join(sorted(plan.excluded)) or "-"),
        ("CI workflow", (plan.workflow or "asked for") if plan.workflows_allowed else "not asked for"),
        ("build step", plan.build or "-"),
        ("files", ", ".join(plan.files) or "-"),
        ("exact strings", "; ".join(_named(n) for n in plan.named) or "-"),
    ]
    if plan.touches:
        rows.append(("touches", ", ".join(plan.touches)))
    lines = [f"**Round plan** ({by})", "", "| | plan |", "|---|---|"]
    lines += [f"| {_cell(k)} | {_cell(v)} |" for k, v in rows]
    return "\n".join(lines)


def _use(use: AttachmentUse) -> str:
    return USE_WORDS[use.use].format(quote=_quoted(use.quote))


def _named(named: NamedString) -> str:
    readers = f", read by check(s) {', '.join(str(c + 1) for c in named.checks)}" if named.checks else ""
    return f'{named.kind} "{named.text}"{readers}'


def _quoted(text: str) -> str:
    return f'"{" ".join(text.split())}"'


def _cell(text: str) -> str:
    text = " ".join(text.split())
    text = text if len(text) <= MAX_CELL else text[:MAX_CELL - 1] + "…"
    return text.replace("|", "\\|")
