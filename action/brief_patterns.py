"""What a round must do, read from the brief's sentences with patterns: the fallback planner of `action/round_plan.py`.

Each function reads the brief text and its string checks, one sentence at a time:
- `wants_workflow`: the brief or a check asks for a GitHub Actions workflow (CI), so the model may write
  `.github/workflows/*.yml`.
- `excluded_files`: files a sentence says must not be committed ("do not commit result.json", "result.json is NOT
  committed").
- `fixable_attachments`: attachments a sentence asks to fix or change ("execute.py (with a bug): fix the bug"), which
  the model may rewrite under their own names; one a sentence calls "as-is" never is.
Patterns miss phrasings a person would understand; they stay the rule until a planning step (issue 20) replaces them.
"""

from __future__ import annotations

import re

from action.verify.checks import FILE_NAME_RE
from deployer.brief import Brief

_WANTS_RE = re.compile(r"\.github/workflows|github[ -]actions?\b|\bworkflow\b|\bci\b|continuous integration",
                       re.IGNORECASE)
_NOT_COMMITTED_RE = re.compile(
    r"\b(?:do\s+not|don't|must\s+not|should\s+not|shouldn't|never|not)\s+(?:be\s+)?(?:commit(?:ted)?|check(?:ed)?\s+"
    r"in|push(?:ed)?|include[ds]?\s+in\s+(?:the\s+)?(?:repo|repository|git))\b", re.IGNORECASE)
_FIX_RE = re.compile(r"\b(?:fix(?:es|ed)?|repair|correct|debug|patch|modify|update)\b|\bwith an? (?:bug|error)|"
                     r"\bbuggy\b", re.IGNORECASE)
_AS_IS_RE = re.compile(r"\bas[- ]is\b|\bunchanged\b|\bbyte for byte\b", re.IGNORECASE)
_SENTENCE_RE = re.compile(r"(?<=[.!?;])\s+|\n+")


def _texts(brief: Brief) -> list[str]:
    return [brief.brief, *(c for c in brief.checks if isinstance(c, str))]


def _sentences(brief: Brief) -> list[str]:
    return [sentence for text in _texts(brief) for sentence in _SENTENCE_RE.split(text)]


def _names(sentence: str) -> set[str]:
    return {n.strip("`'\"") for n in FILE_NAME_RE.findall(sentence)}


def wants_workflow(brief: Brief) -> bool:
    return any(_WANTS_RE.search(text) for text in _texts(brief))


def excluded_files(brief: Brief) -> set[str]:
    """File names that a sentence of the brief or of a check says must not be committed."""
    names = {n for sentence in _sentences(brief) if _NOT_COMMITTED_RE.search(sentence) for n in _names(sentence)}
    attachments = {a.name for a in brief.attachments}
    return {n for n in names if n != "index.html" and n not in attachments}


def fixable_attachments(brief: Brief) -> set[str]:
    """Attachments the brief asks to fix or change ("execute.py (with a bug) ... fix the bug"): the model may write
    a new version under the same name. An attachment a sentence calls "as-is" never is."""
    attachments = {a.name for a in brief.attachments}
    fixable: set[str] = set()
    as_is: set[str] = set()
    for sentence in _sentences(brief):
        named = _names(sentence) & attachments
        if _AS_IS_RE.search(sentence):
            as_is |= named
        elif _FIX_RE.search(sentence):
            fixable |= named
    return fixable - as_is
