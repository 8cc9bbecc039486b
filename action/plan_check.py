"""A model's plan checked against the brief it plans, and turned into a `RoundPlan`. Pure.

A plan is believed only where the brief bears it out, because a wrong plan costs more than none: a rewritten
attachment the grader wanted byte for byte, a file kept out that the app needed. So:
- every field of `prompts/plan.schema.json` is there with its type (models without structured outputs drift);
- an attachment named is one of this round's attachments, listed once;
- `rewrite` quotes the brief (or a check) exactly, up to spacing, letter case and typographic quotes; the quote
  names the attachment (or, naming no file, the sentence just before it does: "... has a bug. Fix it."); the quote
  asks for a change in words of `brief_patterns.CHANGE_RE` that are not negated; and the brief does not keep that
  attachment as-is;
- a file kept out of the repository is named in the brief or a check, and is neither an attachment (attachments are
  committed) nor index.html;
- exact strings occur in the brief or a check as written, and the checks said to read them exist;
- paths (files, touches) are plain relative paths; a touched file is published, or new and not an attachment.
Every problem is named (`InvalidPlan.problems`); one is enough to reject the plan.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence
from typing import Any, cast

from action.assemble import is_reserved
from action.brief_patterns import asks_change, check_texts, kept_as_is, names_in, sentences
from action.published import Published
from action.round_plan import USES, AttachmentUse, NamedString, RoundPlan, Use
from deployer.brief import Brief

FIELDS = ("attachments", "not_committed", "workflow", "build", "files", "exact_strings", "touches")
MAX_ITEMS = 50  # per list: a plan is short
MAX_TEXT = 300  # characters kept of a free-text field (what a workflow or build step does)
_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'"})


class InvalidPlan(ValueError):
    """The plan contradicts the brief or is malformed; `problems` names each reason."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


def checked_plan(raw: Mapping[str, Any], brief: Brief, published: Published) -> RoundPlan:
    """The RoundPlan a raw plan gives (site prefix left to the caller), or InvalidPlan naming every problem."""
    missing = [f for f in FIELDS if f not in raw]
    if missing:
        raise InvalidPlan([f"the plan has no {', '.join(missing)}"])
    problems: list[str] = []
    uses = _attachments(raw["attachments"], brief, problems)
    excluded = _not_committed(raw["not_committed"], brief, problems)
    wanted, workflow = _switch(raw["workflow"], "workflow", "wanted", problems)
    needed, build = _switch(raw["build"], "build", "needed", problems)
    files = _paths(raw["files"], "files", problems)
    named = _named(raw["exact_strings"], brief, problems)
    touches = _touches(raw["touches"], brief, published, {u.name for u in uses if u.use == "rewrite"}, problems)
    if problems:
        raise InvalidPlan(problems)
    by_name = {u.name: u for u in uses}
    return RoundPlan(
        workflows_allowed=wanted, workflow=workflow if wanted else "", excluded=frozenset(excluded),
        attachments=tuple(by_name.get(a.name, AttachmentUse(a.name)) for a in brief.attachments),
        build=(build or "a build step") if needed else "", files=tuple(files), named=tuple(named),
        touches=tuple(touches),
    )


def _list(value: object, field: str, problems: list[str]) -> list[Any]:
    if not isinstance(value, list):
        problems.append(f"{field} is {type(value).__name__}, not a list")
        return []
    if len(value) > MAX_ITEMS:
        problems.append(f"{field} has {len(value)} entries (at most {MAX_ITEMS})")
    return value[:MAX_ITEMS]


def _strings(value: object, field: str, problems: list[str]) -> list[str]:
    items = _list(value, field, problems)
    wrong = [i for i in items if not isinstance(i, str)]
    if wrong:
        problems.append(f"{field} holds {type(wrong[0]).__name__} entries, not only strings")
    return [i for i in items if isinstance(i, str)]


def _attachments(value: object, brief: Brief, problems: list[str]) -> list[AttachmentUse]:
    names = [a.name for a in brief.attachments]
    uses: list[AttachmentUse] = []
    for entry in _list(value, "attachments", problems):
        if not (isinstance(entry, dict) and isinstance(entry.get("name"), str) and entry.get("use") in USES
                and isinstance(entry.get("quote", ""), str)):
            problems.append(f"attachments: {str(entry)[:80]!r} is not {{\"name\", \"use\": keep|rewrite|data, "
                            "\"quote\"}")
            continue
        name, use, quote = entry["name"], cast(Use, entry["use"]), str(entry.get("quote", ""))
        if name not in names:
            problems.append(f"attachments: {name!r} is not an attachment of this round (they are: "
                            f"{', '.join(names) or 'none'})")
        elif any(u.name == name for u in uses):
            problems.append(f"attachments: {name} is listed twice")
        elif use == "rewrite":
            reason = rewrite_problem(quote, name, brief)
            if reason:
                problems.append(f"attachments: {name} is to be rewritten, but {reason}")
            uses.append(AttachmentUse(name, use, quote.strip()))
        else:
            uses.append(AttachmentUse(name, use))
    return uses


def rewrite_problem(quote: str, name: str, brief: Brief) -> str:
    """Why the quote does not let the model rewrite `name` ("" when it does)."""
    if not quote.strip():
        return "the plan quotes no sentence of the brief that asks for it"
    wanted = _normal(quote).strip(" \"'`").rstrip(".")
    for text in (brief.brief, *check_texts(brief)):
        plain = _normal(text)
        at = plain.find(wanted)
        if at < 0:
            continue
        before = sentences(plain[:at])
        named = names_in(wanted) or names_in(before[-1] if before else "")  # "Fix it": the sentence before names it
        if name.casefold() not in {n.casefold() for n in named}:
            return f"the quoted sentence does not name {name}"
        if not asks_change(wanted):
            return "the quoted sentence does not ask for a change"
        if name in kept_as_is(brief):
            return f"the brief keeps {name} as-is"
        return ""
    return f"the quote {quote.strip()[:120]!r} is not in the brief"


def _normal(text: str) -> str:
    return " ".join(text.translate(_QUOTES).split()).casefold()


def _named_in_brief(name: str, brief: Brief) -> bool:
    pattern = rf"(?<![\w.-]){re.escape(name)}(?![\w-])"
    return any(re.search(pattern, t) for t in (brief.brief, *check_texts(brief)))


def _not_committed(value: object, brief: Brief, problems: list[str]) -> list[str]:
    attachments = {a.name for a in brief.attachments}
    kept: list[str] = []
    for name in _strings(value, "not_committed", problems):
        if name in attachments:
            problems.append(f"not_committed: {name} is an attachment, and attachments are committed")
        elif name == "index.html":
            problems.append("not_committed: index.html is the page itself")
        elif not _named_in_brief(name, brief):
            problems.append(f"not_committed: {name} is not named in the brief")
        else:
            kept.append(name)
    return kept


def _switch(value: object, field: str, flag: str, problems: list[str]) -> tuple[bool, str]:
    if not (isinstance(value, dict) and isinstance(value.get(flag), bool) and isinstance(value.get("does"), str)):
        problems.append(f'{field} is not {{"{flag}": true|false, "does": "..."}}')
        return False, ""
    return value[flag], " ".join(value["does"].split())[:MAX_TEXT]


def _paths(value: object, field: str, problems: list[str]) -> list[str]:
    paths: list[str] = []
    for path in _strings(value, field, problems):
        if not _plain_path(path):
            problems.append(f"{field}: {path!r} is not a plain relative path")
        else:
            paths.append(path)
    return list(dict.fromkeys(paths))


def _plain_path(path: str) -> bool:
    return (bool(path) and not path.startswith(("/", "\\")) and "\\" not in path and ":" not in path
            and posixpath.normpath(path) == path and not path.startswith("../") and path != "..")


def _named(value: object, brief: Brief, problems: list[str]) -> list[NamedString]:
    texts = [brief.brief, *check_texts(brief)]
    named: list[NamedString] = []
    for entry in _list(value, "exact_strings", problems):
        checks = entry.get("checks") if isinstance(entry, dict) else None
        if not (isinstance(entry, dict) and isinstance(entry.get("text"), str) and entry["text"].strip()
                and isinstance(entry.get("kind"), str) and isinstance(checks, list)
                and all(isinstance(c, int) and not isinstance(c, bool) for c in checks)):
            problems.append(f'exact_strings: {str(entry)[:80]!r} is not {{"text", "kind", "checks": [ids]}}')
            continue
        text = entry["text"]
        if not any(text in t or (entry["kind"] == "id" and f"#{text.lstrip('#')}" in t) for t in texts):
            problems.append(f"exact_strings: {text[:80]!r} is not in the brief or a check as written")
        elif any(c < 0 or c >= len(brief.checks) for c in checks):
            count = len(brief.checks)
            problems.append(f"exact_strings: {text[:80]!r} is read by check ids {checks}, but "
                            + (f"the checks are 0-{count - 1}" if count else "the brief has no checks"))
        else:
            named.append(NamedString(text.lstrip("#") if entry["kind"] == "id" else text, entry["kind"],
                                     tuple(checks)))
    return named


def _touches(value: object, brief: Brief, published: Published, rewritten: set[str],
             problems: list[str]) -> list[str]:
    paths = _paths(value, "touches", problems)
    if not published.model_files:
        return []  # round 1 (or nothing of ours published): every file is new, nothing to touch
    readonly = ({a.name for a in brief.attachments} | {a.name for a in published.earlier_attachments}) - rewritten
    touched: list[str] = []
    for path in paths:
        if path in published.model_files or path in rewritten or not (
                path in published.files or path in readonly or is_reserved(path)):
            touched.append(path)
        else:
            problems.append(f"touches: {path} is not a file the model may edit (an attachment, or written by code)")
    return touched
