"""What a round must do, read from the brief's sentences with patterns: the fallback of the round planner, used when
the model's plan fails or is invalid (`action/planner.py`), and the vocabulary that plan is validated with.

Each function reads the brief text and its string checks, one clause at a time (sentences split at `;` and `: `):
- `wants_workflow`: the brief asks for a GitHub Actions workflow ("add a GitHub Actions workflow", "set up CI that
  runs ...", "run X in CI", `.github/workflows/...`), or a check mentions one, so the model may write
  `.github/workflows/*.yml`. A page about CI is not a request for one.
- `excluded_files`: files a clause keeps out of the repository ("do not commit result.json", "result.json is NOT
  committed", "keep raw.json out of the repository", "never push out.csv", "should not be in the repository"): the
  names after the phrase, else (a passive phrase, "do not commit it") the names before it.
- `fixable_attachments`: attachments the brief asks to change: a change verb governing the name ("fix the bug in
  X", "update X so ...", "debug X"), the name before "after fixing" ("commit X after fixing the bug"), "the
  corrected version of X", or an attachment marked buggy ("X (with a bug)", "X has a bug") in a brief that asks for
  a fix. `kept_as_is`: attachments a clause keeps unchanged ("as-is", "byte for byte", "do not modify X"); those
  are never rewritten.
- `build_step`, `named_strings`, `files_named`: the build the site needs, the exact strings and the file names the
  brief names, for the plan section of the prompt.
Patterns still miss phrasings a person would understand; the model's plan is the rule.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from action.verify.checks import FILE_NAME_RE
from deployer.brief import Brief

CHANGE = (r"fix(?:es|ed|ing)?|repair(?:s|ed|ing)?|correct(?:s|ed|ing)?|debug(?:s|ged|ging)?|patch(?:es|ed|ing)?|"
          r"modif(?:y|ies|ied|ying)|updat(?:e|es|ed|ing)|edit(?:s|ed|ing)?|chang(?:e|es|ed|ing)|rewrit(?:e|es|ing)|"
          r"rewritten|complet(?:e|es|ed|ing)|finish(?:es|ed|ing)?|replac(?:e|es|ed|ing)|amend(?:s|ed|ing)?|"
          r"adjust(?:s|ed|ing)?|improv(?:e|es|ed|ing)|refactor(?:s|ed|ing)?")
CHANGE_RE = re.compile(rf"\b(?:{CHANGE})\b", re.I)
AS_IS_RE = re.compile(r"\bas[- ]is\b|\bunchanged\b|\bbyte[- ]for[- ]byte\b|\bverbatim\b|\bunmodified\b|\buntouched\b",
                      re.I)
_NEGATION_RE = re.compile(r"\b(?:not|never|don't|doesn't|mustn't|shouldn't|without|no)\s+(?:\w+\s+)?$", re.I)
_BUGGY = (r"\s*\((?:with\s+)?an?\s+(?:[\w-]+\s+)?(?:bug|error|typo|mistake)\)"
          r"|\s+(?:has|contains|with)\s+an?\s+(?:[\w-]+\s+)?(?:bug|error|typo|mistake)\b"
          r"|\s+(?:is\s+broken|is\s+buggy|crashes|fails)\b")
_OBJECT = r"(?:the\s+)?(?:attached\s+)?"
_WORKFLOW = r"(?:workflows?|ci\b|github\s+actions?|continuous\s+integration)"
_WANTS_RES = (
    re.compile(r"\.github/workflows", re.I),
    re.compile(r"\b(?:add|create|set\s+up|setup|configure|include|write|provide|need|want)\s+(?:an?\s+|the\s+)?"
               rf"(?:[\w./-]+\s+){{0,2}}?{_WORKFLOW}", re.I),
    re.compile(r"\b(?:in|on|via|with|using)\s+(?:an?\s+|the\s+)?(?:ci\b|github\s+actions?|(?:github\s+actions?\s+)?"
               r"workflows?\b)", re.I),
    re.compile(r"\b(?:ci|workflow|github\s+actions?)\s+(?:that|which|to)\s+(?:runs?|lints?|tests?|builds?|deploys?|"
               r"publish)", re.I),
)
_CHECK_WANTS_RE = re.compile(rf"\.github/workflows|{_WORKFLOW}", re.I)
_NOT_COMMITTED_RE = re.compile(
    r"\b(?:do\s+not|don't|must\s+not|mustn't|should\s+not|shouldn't|shall\s+not|will\s+not|never|not|is\s+not|are\s+not)"
    r"\s+(?:be\s+)?(?:commit(?:ted)?|check(?:ed)?\s+in|push(?:ed)?|include[ds]?\s+in\s+(?:the\s+)?(?:repo|repository|"
    r"git)|in\s+the\s+(?:repo|repository))\b"
    r"|\b(?:keep|leave)\s+(?P<kept>.{1,60}?)\s+out\s+of\s+(?:the\s+)?(?:repo|repository|git|commit|version\s+control)\b"
    r"|\bexclude\s+(?P<excluded>.{1,60}?)\s+from\s+(?:the\s+)?(?:repo|repository|git|commit)\b", re.I)
_BUILD_RE = re.compile(r"\bat\s+build\s+time\b|\bduring\s+the\s+build\b|\bbuild\s+(?:step|script)\b|"
                       r"\b(?:convert|turn|transform)\b[^;]{0,60}?\b(?:to|into)\s+[\w.-]+\.(?:csv|json|js|html)\b",
                       re.I)
_SENTENCE_RE = re.compile(r"(?<=[.!?])\s+|\n+")
_CLAUSE_RE = re.compile(r";\s*|:\s+")
_QUOTED_RE = re.compile(r"[\"“]([^\"”\n]{1,120})[\"”]")
_ID_RE = re.compile(r"(?<![\w&/])#([A-Za-z][\w-]*)")
_HEX_RE = re.compile(r"(?:[0-9a-fA-F]{3}){1,2}")
_TITLE_CHECK_RE = re.compile(r"document\.title\s*===?\s*[\"'`]([^\"'`\n]{1,120})[\"'`]")


def check_texts(brief: Brief) -> list[str]:
    """Every check as text: strings as they are, objects as their JSON."""
    return [c if isinstance(c, str) else json.dumps(c, ensure_ascii=False) for c in brief.checks]


def _texts(brief: Brief) -> list[str]:
    return [brief.brief, *(c for c in brief.checks if isinstance(c, str))]


def sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_RE.split(text) if s.strip()]


def _clauses(brief: Brief) -> Iterator[str]:
    for text in _texts(brief):
        for sentence in sentences(text):
            yield from (c for c in _CLAUSE_RE.split(sentence) if c.strip())


def names_in(text: str) -> list[str]:
    """The file names a text mentions, in order."""
    return list(dict.fromkeys(n.strip("`'\"") for n in FILE_NAME_RE.findall(text)))


def negated(text: str, at: int) -> bool:
    """Whether the word starting at `at` is negated ("do not modify", "never push", "without changing")."""
    return _NEGATION_RE.search(text[max(0, at - 30):at]) is not None


def asks_change(text: str) -> bool:
    """Whether the text asks for a change (a change verb that is not negated)."""
    return any(not negated(text, m.start()) for m in CHANGE_RE.finditer(text))


def wants_workflow(brief: Brief) -> bool:
    return bool(workflow_sentence(brief)) or any(_CHECK_WANTS_RE.search(c) for c in check_texts(brief))


def workflow_sentence(brief: Brief) -> str:
    """The first clause of the brief that asks for a workflow ("" when none does)."""
    return next((c.strip() for c in _clauses(brief) if any(r.search(c) for r in _WANTS_RES)), "")


def excluded_files(brief: Brief) -> set[str]:
    """File names that a clause of the brief or of a check keeps out of the repository; never an attachment (those
    are committed) nor index.html."""
    attachments = {a.name for a in brief.attachments}
    found: set[str] = set()
    for clause in _clauses(brief):
        for match in _NOT_COMMITTED_RE.finditer(clause):
            named = match.group("kept") or match.group("excluded")
            after = names_in(named if named is not None else clause[match.end():])
            found.update(after or names_in(clause[:match.start()]))
    return {n for n in found if n != "index.html" and n not in attachments}


def kept_as_is(brief: Brief) -> set[str]:
    """Attachments a clause keeps unchanged: "as-is", "byte for byte", "unchanged", or a negated change verb that
    governs the name or "it" ("do not modify notes.md", "do not modify it")."""
    attachments = {a.name for a in brief.attachments}
    kept: set[str] = set()
    for clause in _clauses(brief):
        named = set(names_in(clause)) & attachments
        if AS_IS_RE.search(clause):
            kept |= named
        for match in CHANGE_RE.finditer(clause):
            if negated(clause, match.start()):
                kept |= {n for n in attachments if _governs(clause[match.start():], n)}
    for text in _texts(brief):  # "do not modify it": the attachment the sentence named
        for sentence in sentences(text):
            named = [n for n in names_in(sentence) if n in attachments]
            if named and any(negated(sentence, m.start()) and re.match(r"\s+it\b", sentence[m.end():])
                             for m in CHANGE_RE.finditer(sentence)):
                kept.add(named[-1])
    return kept


def fixable_attachments(brief: Brief) -> set[str]:
    """Attachments the brief asks to fix or change, which the model may write under their own names; an attachment
    kept as-is never is."""
    text = "\n".join(_texts(brief))
    return {a.name for a in brief.attachments if supports_rewrite(text, a.name)} - kept_as_is(brief)


def supports_rewrite(text: str, name: str) -> bool:
    """Whether `text` asks for `name` to be changed, in one of the forms the module docstring lists."""
    n = re.escape(name)
    if any(not negated(text, m.start()) and _governs(text[m.start():], name) for m in CHANGE_RE.finditer(text)):
        return True
    fixed = (rf"\b(?:fixed|corrected|repaired|debugged|updated|working|completed)\s+(?:(?:version|copy)\s+of\s+"
             rf"{_OBJECT})?{n}")
    after = (rf"{n}\b[^,;:]{{0,80}}?\b(?:after|once|when)\s+(?:you\s+)?(?:have\s+)?"
             r"(?:fix|repair|correct|debugg|patch|updat)")
    if re.search(fixed, text, re.I) or re.search(after, text, re.I):
        return True
    buggy = re.search(f"{n}(?:{_BUGGY})", text, re.I) or re.search(rf"\b(?:buggy|broken)\s+{n}", text, re.I)
    return bool(buggy) and asks_change(text)


def _governs(text: str, name: str) -> bool:
    """Whether the verb `text` starts with governs `name` ("modify notes.md", "fix the bug in app.js")."""
    verb = CHANGE_RE.match(text)
    n = re.escape(name)
    governed = (rf"\s+(?:(?:the|a|an|all|any|this|that)\s+)?(?:[\w'-]+\s+){{0,3}}?(?:in|of|inside|within)\s+{_OBJECT}"
                rf"(?:file\s+|script\s+)?{n}|\s+{_OBJECT}{n}")
    return verb is not None and re.match(governed, text[verb.end():], re.I) is not None


def rewrite_sentence(brief: Brief, name: str) -> str:
    """The brief's sentences that name the attachment and ask for the change, for the plan's record."""
    found = [s.strip() for t in _texts(brief) for s in sentences(t) if name in names_in(s) or (
        asks_change(s) and not names_in(s))]
    return " ".join(found[:2])


def build_step(brief: Brief) -> str:
    """The clause that asks for a build step (data to fetch or convert at build time), "" when none does."""
    return next((c.strip() for c in _clauses(brief) if _BUILD_RE.search(c)), "")


def files_named(brief: Brief) -> list[str]:
    """File names the brief and its checks mention, in order."""
    return names_in("\n".join([brief.brief, *check_texts(brief)]))


def named_strings(brief: Brief) -> list[tuple[str, str, tuple[int, ...]]]:
    """Exact strings the brief names: (text, kind, the indexes of the checks that read it). Kinds: `title`,
    `heading`, `id` (written without `#`), `text`."""
    checks = check_texts(brief)
    found: dict[str, str] = {}
    for match in _QUOTED_RE.finditer(brief.brief):
        before = brief.brief[max(0, match.start() - 40):match.start()].lower()
        kind = "title" if "title" in before else "heading" if re.search(r"heading|\bh1\b", before) else "text"
        found.setdefault(match.group(1), kind)
    for text in checks:
        for title in _TITLE_CHECK_RE.findall(text):
            found.setdefault(title, "title")
    for text in [brief.brief, *checks]:
        for ident in _ID_RE.findall(text):
            if not _HEX_RE.fullmatch(ident):
                found.setdefault(ident, "id")
    return [(text, kind, tuple(i for i, c in enumerate(checks) if _reads(c, text, kind)))
            for text, kind in found.items()]


def _reads(check: str, text: str, kind: str) -> bool:
    if kind == "id":
        return re.search(rf"(?<![\w-]){re.escape(text)}(?![\w-])", check) is not None
    return text in check
