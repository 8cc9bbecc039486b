"""Words for results: repair requests for the model, lines for the log, a table for the job summary. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from action.validate import Problem, ProblemKind
from action.verify.browser import Outcome, Result
from action.verify.copied import Copied

# Results that say the site is wrong: they go back to the model. `error`, `skipped` and `not-checkable` say nothing
# about the site (the browser, the deadline, a check we cannot run).
FAILING = frozenset({Outcome.FAILED, Outcome.THREW, Outcome.SYNTAX_ERROR, Outcome.TIMEOUT, Outcome.PAGE_NOT_LOADED})
MAX_LABEL = 300
MAX_COPIED_SHOWN = 5  # elements listed per check whose figures are typed in


def failures(results: Sequence[Result]) -> list[Result]:
    return [r for r in results if r.outcome in FAILING]


def short(label: str, limit: int = MAX_LABEL) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def result_line(result: Result) -> str:
    """`check 2 (round 1) failed: returned false`, one line."""
    when = " (earlier round)" if result.check.earlier else ""
    kind = f" [translated: {short(result.check.js or '', 200)}]" if result.check.kind == "page" and result.check.js \
        else ""
    detail = f": {result.detail}" if result.detail else ""
    return f"check {short(result.check.label)}{when}{kind} -> {result.outcome.value}{detail}"


def repair_problem(result: Result, site_url: str) -> Problem:
    """What the model needs to fix one failing check: the check, what happened, where, and the elements it read."""
    lines = [result_line(result) + "."]
    if result.url:
        query = result.url[len(site_url):] if result.url.startswith(site_url) else result.url
        lines.append("  Opened in a headless browser: the site root" + (f" with {query}" if query else "") + ".")
    if result.dom:
        lines.append("  What the page had: " + result.dom.replace("\n", "\n    "))
    if result.console_errors:
        lines.append("  Console errors: " + " | ".join(short(e, 200) for e in result.console_errors))
    if result.failed_requests:
        lines.append("  Failed requests: " + " | ".join(short(e, 200) for e in result.failed_requests))
    return Problem("browser check", "\n".join(lines), ProblemKind.CHECK)


def summary_table(local: Sequence[Result] | None, live: Sequence[Result] | None) -> str:
    """Markdown: each check with its result before publishing (last round) and on the live page."""
    rows = {r.check.index: r for r in (local or [])}
    live_rows = {r.check.index: r for r in (live or [])}
    checks = [r.check for r in (local or live or [])]
    lines = ["### Checks", "", "| # | check | kind | before publishing | live page |", "|---:|---|---|---|---|"]
    for check in checks:
        cells = [_cell(rows.get(check.index)), _cell(live_rows.get(check.index))]
        kind = check.kind.value + (" (earlier round)" if check.earlier else "")
        lines.append(f"| {check.index + 1} | {_escape(short(check.label, 160))} | {kind} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines) + "\n"


def counts(results: Sequence[Result]) -> str:
    passed = sum(r.passed for r in results)
    failing = len(failures(results))
    other = len(results) - passed - failing
    return f"{passed}/{len(results)} passed, {failing} failed" + (f", {other} not run" if other else "")


def _cell(result: Result | None) -> str:
    if result is None:
        return "—"
    mark = "✅" if result.passed else ("❌" if result.outcome in FAILING else "⚪")
    detail = f": {_escape(short(result.detail, 120))}" if result.detail and not result.passed else ""
    return f"{mark} {result.outcome.value}{detail}"


def _escape(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def copied_problem(copied: Copied, changed: Sequence[str]) -> Problem:
    """What the model needs to compute a typed-in figure: the check, each element, its value and where it comes
    from, and which attachments held other data."""
    lines = [f"check {short(copied.check.label)}" + (" (earlier round)" if copied.check.earlier else "")
             + f" passed, but the figures it reads stayed the same with other data in {', '.join(changed)}:"]
    for bound in copied.bound[:MAX_COPIED_SHOWN]:
        nth = f" (match {bound.index + 1})" if bound.index else ""
        lines.append(f"  {bound.selector}{nth} showed {bound.shown} both times ({bound.source}): compute it.")
    if len(copied.bound) > MAX_COPIED_SHOWN:
        lines.append(f"  ... and {len(copied.bound) - MAX_COPIED_SHOWN} more.")
    return Problem("typed-in figure", "\n".join(lines), ProblemKind.COPIED)
