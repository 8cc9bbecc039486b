"""What each check of a brief is and how to run it: pure, no browser, no I/O.

A check is one of:
- `js`: a `{"js": "..."}` object or a string starting `js:`; graders evaluate it in the loaded page.
- `repo`: a plain-English statement about the repository (license, README, a file that exists, is not committed or
  equals an attachment); graders read those from the commit, so we check them in code on the assembled site.
- `page`: any other plain-English statement; an LLM turns it into JavaScript when it can be checked on the page.

URL parameters: a check that names `?name=` (in its text or its JavaScript) is run on a page opened with that
parameter, as a grader would open it. Values are taken from the text when it gives a concrete one, else derived from
the name (`?url=` gets an attachment's own URL on the served site). `{site}` in a value stands for the site's base
URL, so one plan serves the local copy and the live page alike.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import quote

SITE = "{site}"
PARAM_RE = re.compile(r"[?&]([A-Za-z_][\w-]*)=([^\s&\"'`)<>\]]*)")
URL_PARAM_NAMES = re.compile(r"^(?:url|src|source|image|img|file|captcha|link|href|uri)$", re.I)
PLACEHOLDER_RE = re.compile(r"\.\.\.|…|^<.*>$|^\{.*\}$|^$")
# Plain values a grader would plausibly pass for parameters without one in the text.
DEFAULT_VALUES = {"cik": "0000320193", "token": "verify-token", "key": "verify-key", "q": "test", "query": "test",
                  "id": "1", "name": "test", "user": "octocat", "username": "octocat", "repo": "octocat/Hello-World"}
LICENSE_RE = re.compile(r"\blicen[cs]e\b", re.I)
README_RE = re.compile(r"\breadme\b", re.I)
FILE_NAME_RE = re.compile(r"(?<![\w/.-])((?:[\w-]+/)*[\w-][\w.-]*\.[A-Za-z0-9]{1,8})(?![\w/-])")
NOT_COMMITTED_RE = re.compile(r"\b(?:not|never|no)\b[^.]*\b(?:commit|committed|present|exist|exists|included|in the "
                              r"repo)|\b(?:absent|missing|excluded|ignored)\b", re.I)
REPO_WORDS_RE = re.compile(r"\b(?:repo|repository|committed|commit|exists?|present|as-is|byte for byte|identical"
                           r"|unchanged|same as the attachment|matches the attachment)\b", re.I)
QUERY_SELECTOR_RE = re.compile(r"querySelector(?:All)?\(\s*([\"'`])((?:(?!\1).)+)\1")
BY_ID_RE = re.compile(r"getElementById\(\s*([\"'`])((?:(?!\1).)+)\1")


Reads = tuple[tuple[str, tuple[str, ...]], ...]  # per selector a check reads, the text of each element it matches


class Kind(StrEnum):
    JS = "js"
    REPO = "repo"
    PAGE = "page"


@dataclass(frozen=True)
class Check:
    """One check as we run it. `label` is the check as the brief wrote it, on one line."""

    index: int
    label: str
    kind: Kind
    text: str  # the JavaScript (js), or the statement (repo, page)
    params: tuple[tuple[str, str], ...] = ()
    earlier: bool = False  # from an earlier round: it must keep passing
    js: str | None = None  # what runs in the browser: `text` for js checks, the translation for page checks

    def query(self, site: str) -> str:
        """`?a=b&...` for this check's parameters with `{site}` replaced by the site's base URL, or ""."""
        if not self.params:
            return ""
        marker = quote(SITE, safe="")
        pairs = [f"{quote(k, safe='')}={quote(v, safe=':/').replace(marker, site)}" for k, v in self.params]
        return "?" + "&".join(pairs)


@dataclass(frozen=True)
class Plan:
    checks: list[Check] = field(default_factory=list)

    def of(self, kind: Kind) -> list[Check]:
        return [c for c in self.checks if c.kind is kind]


def one_line(check: object) -> str:
    if isinstance(check, str) and "\n" not in check and "\r" not in check:
        return check
    return json.dumps(check, separators=(",", ":"), ensure_ascii=False)


def js_source(check: object) -> str | None:
    """The JavaScript of a js check, or None when the check is plain English (or not a check we understand)."""
    if isinstance(check, Mapping):
        js = check.get("js")
        return js if isinstance(js, str) and js.strip() else None
    if isinstance(check, str) and check.lstrip().lower().startswith("js:"):
        return check.lstrip()[3:].strip() or None
    return None


def classify(statement: str) -> Kind:
    """Repository checks are the ones about the license, the README, or a file being (or not being) committed."""
    if LICENSE_RE.search(statement) or README_RE.search(statement):
        return Kind.REPO
    if FILE_NAME_RE.search(statement) and REPO_WORDS_RE.search(statement) and not re.search(
            r"\b(?:page|displays?|shows?|renders?|fetch(?:es)?|loads?)\b", statement, re.I):
        return Kind.REPO
    return Kind.PAGE


def plan_checks(
    checks: Sequence[object], earlier: Sequence[object] = (), *, attachments: Sequence[str] = (),
) -> Plan:
    """Every check to run: this round's, then earlier rounds' that are not repeated, each classified."""
    planned: list[Check] = []
    seen: list[object] = []
    for source, is_earlier in [*((c, False) for c in checks), *((c, True) for c in earlier)]:
        if source in seen:
            continue
        seen.append(source)
        label = one_line(source)
        js = js_source(source)
        if js is not None:
            kind, text = Kind.JS, js
        elif isinstance(source, str) and source.strip():
            kind, text = classify(source), source.strip()
        else:
            kind, text = Kind.PAGE, label  # an object without `js`: reported as not checkable
        params = derive_params(text, attachments) if kind is not Kind.REPO else ()
        planned.append(Check(len(planned), label, kind, text, params, is_earlier, js))
    return Plan(planned)


def derive_params(text: str, attachments: Sequence[str] = ()) -> tuple[tuple[str, str], ...]:
    """The query parameters a check names, each with a value a grader could use."""
    params: dict[str, str] = {}
    for name, value in PARAM_RE.findall(text):
        if name not in params:
            params[name] = param_value(name, value, attachments)
    return tuple(params.items())


def param_value(name: str, given: str, attachments: Sequence[str] = ()) -> str:
    if given and not PLACEHOLDER_RE.search(given):
        return given
    if URL_PARAM_NAMES.match(name):
        images = [a for a in attachments if re.search(r"\.(?:png|jpe?g|gif|webp|svg|bmp)$", a, re.I)]
        chosen = (images or list(attachments) or ["index.html"])[0]
        return SITE + quote(chosen)
    return DEFAULT_VALUES.get(name.lower(), "test")


def selectors(js: str) -> list[str]:
    """The CSS selectors a check reads, so a failure can show those elements."""
    found = [m.group(2) for m in QUERY_SELECTOR_RE.finditer(js)]
    found += ["#" + m.group(2) for m in BY_ID_RE.finditer(js)]
    return list(dict.fromkeys(found))
