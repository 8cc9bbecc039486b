"""Plan the built-in model's app from a prompt: title, element ids and their roles, the data and its figures.

Pure and generic, as a careful model reads a brief: exact titles from the checks and the brief, `#ids` and
`getElementById` names, `?param=` inputs, the CSV column the brief names summed and grouped by the column it
names ("each product"). In later rounds the published page and script say what was built before.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from dataclasses import dataclass, field

from sandbox.openrouter.prompt import TRUNCATED, Attachment, Prompt

QUOTED = r"[\"“'`]([^\"”'`\n]{1,120})[\"”'`]"
TITLE_CHECK_RE = re.compile(r"document\.title\s*===?\s*" + QUOTED)
TITLE_BRIEF_RE = re.compile(r"\btitle(?:d|\s+(?:to|of|as|is|should\s+be|must\s+be))?\s*:?\s*" + QUOTED, re.I)
HEADING_RE = re.compile(r"\b(?:h1|heading)\b[^\"“'`\n]{0,40}?" + QUOTED, re.I)
ID_RE = re.compile(r"(?<![\w&/])#([A-Za-z][\w-]*)")
BY_ID_RE = re.compile(r"getElementById\(\s*[\"'`]([A-Za-z][\w-]*)[\"'`]")
HTML_ID_RE = re.compile(r"\bid=[\"']([A-Za-z][\w-]*)[\"']")
HTML_TITLE_RE = re.compile(r"<title>(.*?)</title>", re.S | re.I)
PARAM_RE = re.compile(r"\?([A-Za-z_][\w-]*)=")
SECRET_PARAM_RE = re.compile(r"token|key|secret|password", re.I)  # read at run time, never shown on the page
CSV_NAME_RE = re.compile(r"[\w.-]+\.csv\b")
HEX_COLOR_RE = re.compile(r"(?:[0-9a-fA-F]{3}){1,2}")
CONFIG_RE = re.compile(r"const CONFIG = (\{.*?\n\});", re.S)
ELEMENT_RE = re.compile(r"<(\w+)\b[^>]*\bid=[\"']([A-Za-z][\w-]*)[\"'][^>]*>(.*?)</\1>", re.S)


@dataclass
class Table:
    """The CSV the brief is about: the column to sum, the one to group by, and the figures when they are known."""

    name: str
    columns: list[str]
    value_column: str
    group_column: str | None
    total: float | None = None  # None: not known when writing (truncated or earlier-round data)
    groups: dict[str, float] | None = None


@dataclass
class Plan:
    title: str
    heading: str
    brief: str
    ids: list[str]
    params: list[str]
    table_ids: list[str]
    data: Table | None = None
    csv_name: str | None = None
    images: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    previous: dict[str, str] = field(default_factory=dict)  # id -> inner HTML published in an earlier round


def make_plan(prompt: Prompt) -> Plan:
    words = "\n".join([prompt.brief, *prompt.checks, *prompt.earlier_checks])
    old_html = prompt.files.get("index.html", "")
    ids = _unique(
        [i for i in ID_RE.findall(words) + BY_ID_RE.findall(words) if not HEX_COLOR_RE.fullmatch(i)]
        + HTML_ID_RE.findall(old_html)
    )
    table_ids = [i for i in ids if re.search(
        rf"table\s+#{re.escape(i)}\b|#{re.escape(i)}\b[^\n\"'`]*?\b(?:tbody|tr|td|table|rows?)\b", words, re.I,
    ) or re.search(rf"<table\b[^>]*\bid=[\"']{re.escape(i)}[\"']", old_html)]
    title = _title(prompt, old_html)
    heading_match = HEADING_RE.search(prompt.brief)
    data = _data(prompt, words)
    seen = [*prompt.files.values(), *prompt.outlines.values()]
    mentioned = CSV_NAME_RE.findall(words + "\n" + "\n".join(seen))
    return Plan(
        title=title,
        heading=heading_match.group(1) if heading_match else title,
        brief=prompt.brief,
        ids=ids,
        params=[p for p in _unique(PARAM_RE.findall(words)) if not SECRET_PARAM_RE.search(p)],
        table_ids=table_ids,
        data=data,
        csv_name=data.name if data else (mentioned[0] if mentioned else None),
        images=[a.name for a in prompt.attachments if a.media_type.startswith("image/")],
        links=[a.name for a in prompt.attachments if not a.media_type.startswith("image/")],
        previous={m.group(2): m.group(3) for m in ELEMENT_RE.finditer(old_html)},
    )


def _title(prompt: Prompt, old_html: str) -> str:
    """This round's checks, then its brief, then earlier rounds' checks and page, then the task's name."""
    for match in (
        TITLE_CHECK_RE.search("\n".join(prompt.checks)),
        TITLE_BRIEF_RE.search(prompt.brief),
        TITLE_CHECK_RE.search("\n".join(prompt.earlier_checks)),
    ):
        if match:
            return match.group(1)
    old = HTML_TITLE_RE.search(old_html)
    if old and old.group(1).strip():
        return html.unescape(old.group(1).strip())
    parts = [p for p in re.split(r"[-_.]+", prompt.task) if p]
    if len(parts) > 1 and re.fullmatch(r"[0-9a-f]{4,}", parts[-1]) and re.search(r"\d", parts[-1]):
        parts = parts[:-1]  # a task's random suffix is no part of a name
    return " ".join(p.capitalize() for p in parts) or "App"


def _data(prompt: Prompt, words: str) -> Table | None:
    """The CSV from this prompt's attachments or files; else what the published script.js says it read."""
    sources = [(a.name, a.text, a.complete) for a in prompt.attachments if _is_csv(a) and a.text]
    sources += [(p, t, True) for p, t in prompt.files.items() if p.lower().endswith(".csv")]
    for name, text, complete in sources:
        table = summarise_csv(name, text.split(TRUNCATED)[0], words, complete=complete)
        if table is not None:
            return table
    old = CONFIG_RE.search(prompt.files.get("script.js") or prompt.outlines.get("script.js", ""))
    if old is None:
        return None
    try:
        config = json.loads(old.group(1))
    except json.JSONDecodeError:
        return None
    if not (isinstance(config, dict) and config.get("csv") and config.get("value")):
        return None
    columns = [c for c in config.get("columns") or [] if isinstance(c, str)]
    group = _group_column([c for c in columns if c != config["value"]], words) or config.get("group")
    return Table(str(config["csv"]), columns, str(config["value"]), group)


def _is_csv(a: Attachment) -> bool:
    return a.name.lower().endswith(".csv") or a.media_type == "text/csv"


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _number(text: str) -> float | None:
    cleaned = text.strip().replace(",", "").lstrip("$€£")
    try:
        return float(cleaned)
    except ValueError:
        return None


def _group_column(candidates: list[str], words: str) -> str | None:
    return next((h for h in candidates if re.search(rf"\b(?:each|per|by)\s+{re.escape(h)}s?\b", words, re.I)), None)


def summarise_csv(name: str, text: str, words: str, *, complete: bool = True) -> Table | None:
    """Sum the numeric column the brief names (else the last numeric one); group by a column it names.

    Figures are left unknown (None) when the text is only the start of the file."""
    rows = list(csv.DictReader(io.StringIO(text.strip())))
    if not rows:
        return None
    headers = [h for h in rows[0] if h]
    numeric = [h for h in headers if all(_number(r.get(h) or "") is not None for r in rows if (r.get(h) or "").strip())]
    named = [h for h in numeric if re.search(rf"\b{re.escape(h)}\b", words, re.I)]
    value = (named or numeric[-1:] or [None])[0]
    if value is None:
        return None
    group = _group_column([h for h in headers if h not in numeric], words)
    if not complete:
        return Table(name, headers, value, group)
    total = 0.0
    groups: dict[str, float] = {}
    for row in rows:
        amount = _number(row.get(value) or "") or 0.0
        total += amount
        if group is not None:
            key = (row.get(group) or "").strip()
            groups[key] = groups.get(key, 0.0) + amount
    return Table(name, headers, value, group, total, groups if group else None)


def plain(value: float) -> str:
    """A number as a check parses it (no separators or units, at most 2 decimals), as script.js writes it."""
    rounded = round(value, 2)
    return str(int(rounded)) if rounded.is_integer() else repr(rounded)


def role(element_id: str, plan: Plan) -> str:
    """What an element named in the brief is for, read from its id the way a developer would."""
    if element_id in plan.table_ids:
        return "table"
    if re.search(r"total|sum", element_id, re.I) and plan.data is not None:
        return "total"
    if re.search(r"url", element_id, re.I) and plan.params:
        return "url"
    if re.search(r"img|image|captcha$", element_id, re.I):
        return "image"
    if re.search(r"solution|solved|result|answer|text", element_id, re.I) and plan.images:
        return "solution"
    return "output"
