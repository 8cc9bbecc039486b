"""The built-in "model": prompt text in, a small real app out (index.html, style.css, script.js).

Pure. `compose` decides what to answer, as the request asks: whole files (JSON when the request asks for JSON), or,
when the request being answered asks for `SEARCH/REPLACE` blocks and files were published, edits from the published
files to the app it would write now; check translations go to checks.py, round plans to planning.py. `answer`
writes that out cleanly (blocks.py); writer.py and shapes.py write it the way real models do.
Values known at build time are written into the static HTML; script.js (a fixed program driven by
a `CONFIG` object) only refreshes them, shows `?params` and solves an input image when an OCR library loads.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from typing import Any, Literal

from sandbox.openrouter import checks, copying, planning
from sandbox.openrouter.blocks import edit_blocks, whole_files
from sandbox.openrouter.plan import Plan, Table, make_plan, plain, role
from sandbox.openrouter.prompt import Prompt, parse_prompt

BOOTSTRAP_CSS = "https://cdn.jsdelivr.net/npm/bootstrap@5.3.3/dist/css/bootstrap.min.css"
TESSERACT_JS = "https://cdn.jsdelivr.net/npm/tesseract.js@5/dist/tesseract.min.js"
TAG_RE = re.compile(r"<[^>]+>")
TBODY_RE = re.compile(r"<tbody>(.*?)</tbody>", re.S)
EDIT_REQUEST = "SEARCH/REPLACE"  # what action/prompt.py puts in a request that wants edit blocks


@cache
def asset(name: str) -> str:
    """A fixed file of the app, from `sandbox/openrouter/app/` (read through importlib.resources for wheels)."""
    return resources.files("sandbox.openrouter").joinpath("app", name).read_text(encoding="utf-8")


@dataclass(frozen=True)
class Draft:
    """What the model means to say, before it is written out: JSON text (`checks`, `plan`, `json`), or files
    (`files`, and `edits` against the published `old` files). `copied`: ids whose figure was copied from a check;
    `mistake`: the field a plan got wrong on purpose (planning.MISTAKES)."""

    kind: Literal["checks", "plan", "json", "edits", "files"]
    text: str = ""
    files: dict[str, str] = field(default_factory=dict)
    old: dict[str, str] = field(default_factory=dict)
    outlines: dict[str, str] = field(default_factory=dict)  # published files seen only as outlines
    copied: tuple[str, ...] = ()
    mistake: str | None = None


def compose(prompt_text: str, response_format: dict[str, Any] | None = None, *, last_request: str | None = None,
            copy: bool = False, mistake: str | None = None) -> Draft:
    """`last_request` is the text of the user message being answered (it decides the answer's format); `copy`
    asks for the figures checks expect to be pasted in rather than computed (when a check names one); `mistake`
    names the field a plan gets wrong."""
    if last_request is not None and checks.is_translation_request(last_request):  # verification asks for JS checks
        return Draft("checks" if response_format is None else "json", checks.answer(last_request))
    if last_request is not None and planning.is_planning_request(last_request):  # the action plans the round
        return Draft("plan" if response_format is None else "json", planning.answer(last_request, mistake),
                     mistake=mistake)
    prompt = parse_prompt(prompt_text)
    copied = copying.constants(prompt) if copy else {}
    files = build_files(prompt, copied)
    if response_format is not None:
        return Draft("json", json.dumps(fit_schema(files, response_format)), copied=tuple(copied))
    if (prompt.files or prompt.outlines) and EDIT_REQUEST in (last_request or ""):
        return Draft("edits", files=files, old=prompt.files, outlines=prompt.outlines, copied=tuple(copied))
    return Draft("files", files=files, copied=tuple(copied))


def render(draft: Draft) -> str:
    """The draft written cleanly: JSON as is, `<file path>` blocks, or exact edit blocks."""
    if draft.kind == "edits":
        return edit_blocks(draft.old, draft.files, draft.outlines)
    return whole_files(draft.files) if draft.kind == "files" else draft.text


def answer(prompt_text: str, response_format: dict[str, Any] | None = None, *, last_request: str | None = None) -> str:
    return render(compose(prompt_text, response_format, last_request=last_request))


def build_files(prompt: Prompt, copied: dict[str, str] | None = None) -> dict[str, str]:
    """The app; with `copied` figures, a page that holds them as typed-in text and a script that reads no data."""
    plan = make_plan(prompt)
    if copied:
        page = copying.write_constants(render_html(plan), copied)
        return {"index.html": page, "style.css": asset("style.css"),
                "script.js": render_script(replace(plan, data=None, csv_name=None))}
    return {"index.html": render_html(plan), "style.css": asset("style.css"), "script.js": render_script(plan)}


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
    return "const CONFIG = " + json.dumps(config, indent=2) + ";\n\n" + asset("script.js")


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
