"""The built-in model's answer to a planning request (`<plan-round>`, see action/planner.py). Pure.

It reads the brief the way a careful model does, one fragment at a time (sentences cut at `;`, `: `, `, ` and
` but `), and resolves "it", "the bug" and "the file" to the attachment meant: the one marked buggy ("execute.py
(with a bug)", "script.js has a bug") for "the bug", else the last one named. From that:
- an attachment is `rewrite` when a fragment with a change word (fix, correct, update, debug, complete, replace...)
  that is not negated names it or refers to it, quoting the sentence (and the one before it when the request only
  says "it"); `keep` when a fragment calls it as-is, unchanged or byte for byte, or negates a change to it; else
  `data`;
- files kept out: the non-attachment files a fragment that says "not commit", "never push", "out of the repository",
  "should not be in the repository"... names (or refers to with "it");
- a workflow when a fragment mentions GitHub Actions, a workflow or CI together with a request to add, set up or run
  it (or "in CI"), or any check mentions one; a build step for "at build time", "during the build" or a conversion
  into a named file;
- exact strings: the title, heading and `#ids` its own app plan reads (sandbox/openrouter/plan.py), with the checks
  that contain them; files: its app's own files and the non-attachment files the brief names; touches (round 2):
  the published files named in the brief, those its edits change (index.html, script.js) and the attachments it
  rewrites.
The varied style sometimes writes one field wrong, as models do (`MISTAKES`): a rewrite quoting words that are not
the brief's, an attachment's name misspelt or made up, a file kept out that the brief never names.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from sandbox.openrouter.plan import HEADING_RE, HEX_COLOR_RE, ID_RE, TITLE_BRIEF_RE, TITLE_CHECK_RE
from sandbox.openrouter.prompt import parse_prompt

PLAN_RE = re.compile(r"<plan-round>\n?(.*?)\n?</plan-round>", re.S)
MISTAKES = ("unquoted-rewrite", "misnamed-attachment", "unnamed-exclusion")
APP_FILES = ("index.html", "style.css", "script.js")  # what the built-in model's app consists of
EDITED = ("index.html", "script.js")  # what its later-round edits change
NAME_RE = re.compile(r"(?<![\w/.-])([\w-][\w.-]*\.(?:py|js|mjs|ts|html?|css|csv|tsv|json|md|txt|xlsx?|xml|ya?ml|"
                     r"toml|svg|png|jpe?g|gif|webp|sh|zip|pdf))(?![\w/-])", re.I)  # file names, not `rows.reduce`
SENTENCE_RE = re.compile(r"(?:[^.!?\n]|[.!?](?=[\w/.]))+(?:[.!?]+|$)", re.M)  # "execute.py" ends no sentence
FRAGMENT_RE = re.compile(r";\s*|:\s+|,\s+|\s+but\s+")
CHANGE_RE = re.compile(r"\b(?:fix|fixes|fixed|fixing|correct|corrected|correcting|repair|repaired|debug|debugged|"
                       r"update|updated|updating|modify|modified|edit|edited|change|changed|complete|completed|"
                       r"replace|replaced|patch|patched|rewrite|rewritten)\b", re.I)
NEGATED_RE = re.compile(r"\b(?:not|never|don't|without)\s+(?:\w+\s+)?$", re.I)
KEEP_RE = re.compile(r"\bas[- ]is\b|\bunchanged\b|\bbyte[- ]for[- ]byte\b|\bverbatim\b|\bunmodified\b", re.I)
BUG_RE = re.compile(r"\b(?:bug|buggy|broken|error|typo|mistake)\b", re.I)
BUG_REFERENCE_RE = re.compile(r"\bthe\s+(?:[\w-]+\s+)?(?:bug|error|typo|mistake)\b", re.I)
PRONOUN_RE = re.compile(r"\bit\b|\bthe\s+(?:fixed\s+|corrected\s+|working\s+)?(?:file|script|version)\b", re.I)
OUT_RE = re.compile(r"\b(?:not|never)\s+(?:be\s+)?(?:commit|committed|push|pushed|check\s+in|checked\s+in|in\s+the\s+"
                    r"repo(?:sitory)?)\b|\bout\s+of\s+(?:the\s+)?(?:repo(?:sitory)?|git|commit)\b", re.I)
CI_RE = re.compile(r"\.github/workflows|\bgithub\s+actions?\b|\bworkflows?\b|\bci\b|continuous\s+integration", re.I)
ASK_CI_RE = re.compile(r"\b(?:add|adds|create|set\s+up|configure|include|write|runs?|deploy)\b|\bin\s+ci\b", re.I)
BUILD_RE = re.compile(r"\bat\s+build\s+time\b|\bduring\s+the\s+build\b|\bbuild\s+step\b|"
                      r"\b(?:convert|turn|transform)\b.*?\b(?:to|into)\s+[\w.-]+\.\w+", re.I)


@dataclass
class _Reading:
    """What the reader has taken from the brief so far."""

    attachments: list[str]
    uses: dict[str, str] = field(default_factory=dict)
    quotes: dict[str, str] = field(default_factory=dict)
    buggy: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    workflow: str = ""
    build: str = ""


def is_planning_request(text: str) -> bool:
    return PLAN_RE.search(text) is not None


def answer(text: str, mistake: str | None = None) -> str:
    """The plan as JSON, with one field wrong when `mistake` (one of MISTAKES) says so."""
    match = PLAN_RE.search(text)
    block = match.group(1) if match else text
    prompt = parse_prompt(block)
    checks = [str(item.get("check", "")) for item in _lines(block, "round-checks")]
    attachments = [str(item.get("name", "")) for item in _lines(block, "round-attachments")]
    published = [str(item.get("path", "")) for item in _lines(block, "published-files")]
    reading = _read(prompt.brief, checks, attachments)
    named = _named_files(prompt.brief, checks)
    plan = {
        "attachments": [{"name": n, "use": reading.uses.get(n, "data"), "quote": reading.quotes.get(n, "")}
                        for n in attachments],
        "not_committed": reading.excluded,
        "workflow": {"wanted": bool(reading.workflow), "does": reading.workflow},
        "build": {"needed": bool(reading.build), "does": reading.build},
        "files": list(dict.fromkeys([*APP_FILES, *(n for n in named if n not in attachments
                                                   and n not in reading.excluded)])),
        "exact_strings": _exact_strings(prompt.brief, checks),
        "touches": [p for p in published if p in named or p in EDITED] + (
            [n for n in attachments if reading.uses.get(n) == "rewrite"] if published else []),
    }
    if mistake is not None:
        _make(mistake, plan)
    return json.dumps(plan)


def _lines(block: str, tag: str) -> list[dict[str, object]]:
    found = re.search(rf"<{tag}>\n?(.*?)\n?</{tag}>", block, re.S)
    items = []
    for line in (found.group(1) if found else "").splitlines():
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(item, dict):
            items.append(item)
    return items


def _names(text: str) -> list[str]:
    return list(dict.fromkeys(NAME_RE.findall(text)))


def _read(brief: str, checks: list[str], attachments: list[str]) -> _Reading:
    reading = _Reading(attachments)
    previous = ""  # the sentence before, for a request that says only "it"
    for sentence in [m.group(0) for m in SENTENCE_RE.finditer(brief)] + checks:
        last_named: list[str] = []
        for fragment in FRAGMENT_RE.split(sentence):
            _fragment(reading, fragment, sentence, previous, last_named)
            last_named += _names(fragment)
        previous = sentence
    if any(CI_RE.search(c) for c in checks) and not reading.workflow:
        reading.workflow = next(c for c in checks if CI_RE.search(c))
    return reading


def _fragment(reading: _Reading, fragment: str, sentence: str, previous: str, last_named: list[str]) -> None:
    names = _names(fragment)
    ours = [n for n in names if n in reading.attachments]
    for bug in BUG_RE.finditer(fragment):  # "execute.py (with a bug)": the name just before the word
        before = [n for n in _names(fragment[:bug.start()]) if n in reading.attachments]
        if before and before[-1] not in reading.buggy:
            reading.buggy.append(before[-1])
    if KEEP_RE.search(fragment):
        for name in ours or _referred(reading, fragment, last_named):
            reading.uses[name] = "keep"
    for change in CHANGE_RE.finditer(fragment):
        targets = ours or _referred(reading, fragment, last_named)
        if NEGATED_RE.search(fragment[:change.start()]):
            for name in targets:
                reading.uses[name] = "keep"
            continue
        for name in targets:
            if reading.uses.get(name) != "keep":
                reading.uses[name] = "rewrite"
                reading.quotes.setdefault(name, _quote(sentence, previous, name))
    if OUT_RE.search(fragment):
        files = [n for n in names if n not in reading.attachments] or (
            [n for n in last_named if n not in reading.attachments][-1:] if PRONOUN_RE.search(fragment) else [])
        reading.excluded += [n for n in files if n != "index.html" and n not in reading.excluded]
    if not reading.workflow and CI_RE.search(fragment) and ASK_CI_RE.search(fragment) and "about" not in fragment:
        reading.workflow = fragment.strip()
    if not reading.build and BUILD_RE.search(fragment):
        reading.build = fragment.strip()


def _referred(reading: _Reading, fragment: str, last_named: list[str]) -> list[str]:
    """The attachment "the bug" or "it" refers to: the buggy one for a bug, else the last one named."""
    if BUG_REFERENCE_RE.search(fragment):
        return reading.buggy[-1:]
    if PRONOUN_RE.search(fragment):
        named = [n for n in last_named if n in reading.attachments]
        return reading.buggy[-1:] or named[-1:]
    return []


def _quote(sentence: str, previous: str, name: str) -> str:
    """The sentence that asks for the change, with the sentence before when only that one names the file."""
    sentence = sentence.strip()
    if name in _names(sentence) or not previous.strip():
        return sentence
    return f"{previous.strip()} {sentence}"


def _named_files(brief: str, checks: list[str]) -> list[str]:
    return _names("\n".join([brief, *checks]))


def _exact_strings(brief: str, checks: list[str]) -> list[dict[str, object]]:
    found: dict[str, str] = {}
    for regex, kind, texts in ((TITLE_CHECK_RE, "title", checks), (TITLE_BRIEF_RE, "title", [brief]),
                               (HEADING_RE, "heading", [brief])):
        for text in texts:
            for match in regex.finditer(text):
                found.setdefault(match.group(1), kind)
    for text in [brief, *checks]:
        for ident in ID_RE.findall(text):
            if not HEX_COLOR_RE.fullmatch(ident):
                found.setdefault(ident, "id")
    return [{"text": text, "kind": kind, "checks": [i for i, c in enumerate(checks) if text in c]}
            for text, kind in found.items()]


def _make(mistake: str, plan: dict[str, object]) -> None:
    """One field written wrong, as models do."""
    entries = plan["attachments"]
    assert isinstance(entries, list)
    if mistake == "unquoted-rewrite" and entries:
        entries[0].update(use="rewrite", quote="The brief asks for changes to this file.")
    elif mistake == "misnamed-attachment":
        if entries:
            entries[0]["name"] = str(entries[0]["name"]).capitalize() + "s"
        else:
            entries.append({"name": "data.csv", "use": "data", "quote": ""})
    else:
        excluded = plan["not_committed"]
        assert isinstance(excluded, list)
        excluded.append("secrets.json")
