"""The built-in "model": reads a brief and writes a small real app (index.html, style.css, script.js).

Pure: prompt text in, answer text out (whole files as `<file path="...">` blocks, or JSON when asked).
It reads the brief generically, as a careful model would: the exact title and ids from the brief and checks,
CSV attachments summed and grouped by the columns the brief names, `?param=` inputs shown on the page.
Values known at build time are written into the static HTML; the script only refreshes them.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from dataclasses import dataclass, field
from typing import Any

from sandbox.openrouter.prompt import TRUNCATED, Attachment, Prompt, parse_prompt

BOOTSTRAP_CSS = "https://cdn.jsdelivr.net/npm/bootstrap@5.3.3/dist/css/bootstrap.min.css"
TESSERACT_JS = "https://cdn.jsdelivr.net/npm/tesseract.js@5/dist/tesseract.min.js"
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
TAG_RE = re.compile(r"<[^>]+>")
TBODY_RE = re.compile(r"<tbody>(.*?)</tbody>", re.S)
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


def answer(prompt_text: str, response_format: dict[str, Any] | None = None) -> str:
    files = build_files(parse_prompt(prompt_text))
    if response_format is None:
        return "\n".join(f'<file path="{path}">\n{content}</file>' for path, content in files.items()) + "\n"
    return json.dumps(fit_schema(files, response_format))


def build_files(prompt: Prompt) -> dict[str, str]:
    plan = make_plan(prompt)
    return {"index.html": render_html(plan), "style.css": STYLE, "script.js": render_script(plan)}


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
    mentioned = CSV_NAME_RE.findall(words + "\n" + "\n".join(prompt.files.values()))
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
    old = CONFIG_RE.search(prompt.files.get("script.js", ""))
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


def render_html(plan: Plan) -> str:
    e = html.escape
    body: list[str] = [f'    <h1 class="mb-3">{e(plan.heading)}</h1>', f'    <p class="lead">{e(plan.brief)}</p>']
    roles = {i: role(i, plan) for i in plan.ids}
    for i, kind in roles.items():
        earlier = TAG_RE.sub("", plan.previous.get(i, "")).strip()
        if kind == "table":
            body.append(_table_html(i, plan.data, plan.previous.get(i, "")))
        elif kind == "total":
            known = plan.data.total if plan.data else None
            figure = plain(known) if known is not None else e(earlier)
            body.append(f'    <p class="fs-4">Total {e(plan.data.value_column if plan.data else "")}: '
                        f'<span id="{i}">{figure}</span></p>')
        elif kind == "url":
            body.append(f'    <p>Input URL: <code id="{i}">{_default_input(plan)}</code></p>')
        elif kind == "image":
            body.append(f'    <img id="{i}" class="img-fluid border mb-3" alt="input image" src="{_image(plan)}">')
        elif kind == "solution":
            body.append(f'    <p class="fs-4">Solved text: <strong id="{i}">{e(earlier) or "solving…"}</strong></p>')
        else:
            body.append(f'    <div id="{i}" class="mb-3 output" aria-live="polite">{e(earlier)}</div>')
    for param in plan.params:
        if not any(param in i for i in roles):
            shown = f'<code id="param-{e(param)}">{_default_input(plan)}</code>'
            body.append(f"    <p>Parameter <code>?{e(param)}=</code>: {shown}</p>")
    if plan.images and "image" not in roles.values():
        body.append(f'    <img id="input-image" class="img-fluid border mb-3" alt="input image" src="{_image(plan)}">')
    if plan.images and plan.params and "solution" not in roles.values():
        body.append('    <p class="fs-4">Solved text: <strong id="solution">solving…</strong></p>')
    if plan.links:
        items = "".join(f'<li><a href="{e(n)}">{e(n)}</a></li>' for n in plan.links)
        body.append(f'    <h2 class="h5 mt-4">Data</h2>\n    <ul>{items}</ul>')
    extra = f'  <script src="{TESSERACT_JS}" defer></script>\n' if plan.images and plan.params else ""
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n  <meta charset="utf-8">\n'
        '  <meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'  <title>{e(plan.title)}</title>\n  <link rel="stylesheet" href="{BOOTSTRAP_CSS}">\n'
        '  <link rel="stylesheet" href="style.css">\n</head>\n<body>\n  <main class="container py-4">\n'
        + "\n".join(body) + "\n  </main>\n" + extra + '  <script src="script.js" defer></script>\n</body>\n</html>\n'
    )


def _image(plan: Plan) -> str:
    return html.escape(plan.images[0]) if plan.images else ""


def _default_input(plan: Plan) -> str:
    return f"{html.escape(plan.images[0])} (default)" if plan.images else "(none given)"


def _table_html(table_id: str, data: Table | None, earlier: str) -> str:
    """Rows written from the data when it is known, else the rows published before (the script refreshes both)."""
    e = html.escape
    label = data.group_column.capitalize() if data and data.group_column else "Item"
    value = f"Total {data.value_column}" if data else "Value"
    if data is not None and data.groups is not None:
        rows = sorted(data.groups.items())
    elif data is not None and data.total is not None:
        rows = [("All", data.total)]
    else:
        rows = []
    trs = "".join(f"\n        <tr><td>{e(k)}</td><td>{plain(v)}</td></tr>" for k, v in rows)
    if not rows and (old := TBODY_RE.search(earlier)):
        trs = old.group(1).rstrip()
    return (
        f'    <table id="{table_id}" class="table table-striped">\n'
        f"      <thead><tr><th>{e(label)}</th><th>{e(value)}</th></tr></thead>\n"
        f"      <tbody>{trs}\n      </tbody>\n    </table>"
    )


def render_script(plan: Plan) -> str:
    """script.js: refresh the static figures from the CSV, show `?params`, solve an input image."""
    roles = {i: role(i, plan) for i in plan.ids}
    targets = {kind: [i for i, r in roles.items() if r == kind] for kind in ("total", "table", "url", "image",
                                                                              "solution")}
    config = {
        "csv": plan.csv_name,
        "columns": plan.data.columns if plan.data else [],
        "value": plan.data.value_column if plan.data else None,
        "group": plan.data.group_column if plan.data else None,
        "totals": targets["total"],
        "tables": targets["table"],
        "params": plan.params,
        "urlTargets": targets["url"],
        "imageTargets": targets["image"] or (["input-image"] if plan.images else []),
        "solutionTargets": targets["solution"] or (["solution"] if plan.images and plan.params else []),
        "defaultImage": plan.images[0] if plan.images else None,
    }
    return "const CONFIG = " + json.dumps(config, indent=2) + ";\n" + SCRIPT


def fit_schema(files: dict[str, str], response_format: dict[str, Any]) -> Any:
    """JSON mode: `{"files": [{"path", "content"}]}`, or that list fitted into the schema's array property."""
    listed = [{"path": p, "content": c} for p, c in files.items()]
    schema = (response_format.get("json_schema") or {}).get("schema") or {}
    props = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(props, dict):
        return {"files": listed}
    result: dict[str, Any] = {}
    for name, spec in props.items():
        kind = spec.get("type") if isinstance(spec, dict) else None
        if kind == "array":
            result[name] = listed
        elif kind == "object":
            result[name] = dict(files)
        elif kind == "string":
            result[name] = "Generated by the sandbox's built-in model."
    return result or {"files": listed}


STYLE = """\
body { background: #f8f9fa; }
main { max-width: 960px; }
.lead { color: #495057; }
.output:empty::before { content: "…"; color: #adb5bd; }
table td:last-child, table th:last-child { text-align: right; font-variant-numeric: tabular-nums; }
img { max-height: 240px; }
"""

SCRIPT = r"""
// Static figures are already in the HTML; this refreshes them from the data and fills in URL inputs.
const $ = (id) => document.getElementById(id);
const plain = (n) => String(Math.round(n * 100) / 100);

function parseCsv(text) {
  const rows = [];
  let row = [], cell = "", quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; }
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") { row.push(cell); cell = ""; }
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(cell); rows.push(row); row = []; cell = "";
    } else cell += c;
  }
  if (cell || row.length) { row.push(cell); rows.push(row); }
  const [head, ...body] = rows.filter((r) => r.some((v) => v.trim()));
  return body.map((r) => Object.fromEntries(head.map((h, i) => [h.trim(), (r[i] || "").trim()])));
}

async function refreshData() {
  if (!CONFIG.csv || !CONFIG.value) return;
  const response = await fetch(CONFIG.csv);
  if (!response.ok) throw new Error(`${CONFIG.csv}: HTTP ${response.status}`);
  const rows = parseCsv(await response.text());
  const amount = (row) => parseFloat(String(row[CONFIG.value]).replace(/[^0-9.eE+-]/g, "")) || 0;
  const total = rows.reduce((sum, row) => sum + amount(row), 0);
  for (const id of CONFIG.totals) if ($(id)) $(id).textContent = plain(total);
  if (!CONFIG.group) return;
  const groups = new Map();
  for (const row of rows) groups.set(row[CONFIG.group], (groups.get(row[CONFIG.group]) || 0) + amount(row));
  for (const id of CONFIG.tables) {
    const body = $(id) && $(id).querySelector("tbody");
    if (!body) continue;
    body.replaceChildren(...[...groups].sort(([a], [b]) => a.localeCompare(b)).map(([key, value]) => {
      const tr = document.createElement("tr");
      for (const text of [key, plain(value)]) {
        const td = document.createElement("td");
        td.textContent = text;
        tr.append(td);
      }
      return tr;
    }));
  }
}

async function solveImage(src) {
  const targets = CONFIG.solutionTargets.map($).filter(Boolean);
  if (!targets.length) return;
  let text = "";
  try {
    if (!window.Tesseract) throw new Error("OCR library not loaded");
    const result = await window.Tesseract.recognize(src, "eng");
    text = result.data.text.replace(/\s+/g, "").trim();
  } catch (err) {
    console.warn("could not solve the image:", err);
  }
  for (const el of targets) el.textContent = text || "unreadable";
}

function showParams() {
  const params = new URLSearchParams(location.search);
  for (const name of CONFIG.params) {
    const value = params.get(name);
    const targets = [$(`param-${name}`), ...(name === "url" ? CONFIG.urlTargets.map($) : [])].filter(Boolean);
    const fallback = CONFIG.defaultImage ? `${CONFIG.defaultImage} (default)` : "(none given)";
    for (const el of targets) el.textContent = value || fallback;
  }
  const src = params.get("url") || CONFIG.defaultImage;
  if (src) {
    for (const el of CONFIG.imageTargets.map($).filter(Boolean)) el.src = src;
    solveImage(src);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  showParams();
  refreshData().catch((err) => console.error("could not refresh the data:", err));
});
"""
