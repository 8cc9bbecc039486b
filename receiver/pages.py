"""The status page's HTML, rendered from templates/ with every value escaped: pure functions, no I/O after import.

No third-party code and nothing from another origin: the style sheet and the script are inlined from templates/ and
allowed by their SHA-256 in the Content-Security-Policy, which allows nothing else (no other script, no inline
handler or style attribute, no frame, no form to another site, fetch() to this origin only).
"""

from __future__ import annotations

import base64
import hashlib
from html import escape
from pathlib import Path
from string import Template
from urllib.parse import urlencode

from deployer.isotime import display, parse
from receiver.story import STATES, Story

TEMPLATES = Path(__file__).resolve().parent / "templates"
MARKS = {"done": "\u2713", "active": "\u25cf", "failed": "\u2717", "waiting": "\u25cb"}
STATE_LABELS = {"in_flight": "in flight", "succeeded": "succeeded", "failed": "failed"}
LINK_NAMES = ("page", "repository", "commit", "run")


def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


LAYOUT, LOGIN, LIST, DETAIL = (_template(n) for n in ("layout.html", "login.html", "list.html", "detail.html"))
CSS = (TEMPLATES / "status.css").read_text(encoding="utf-8")
JS = (TEMPLATES / "status.js").read_text(encoding="utf-8")


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


CSP = (f"default-src 'none'; style-src {_sha256(CSS)}; script-src {_sha256(JS)}; connect-src 'self'; "
       "img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
HEADERS = {
    "Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin", "Cache-Control": "no-store",
}


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def layout(title: str, main: str, *, logged_in: bool) -> str:
    nav = ('<form method="post" action="/status/logout"><button type="submit">Log out</button></form>'
           if logged_in else "")
    return LAYOUT.substitute(title=_e(title), css=CSS, js=JS, nav=nav, main=main)


def login_page(problem: str | None, next_path: str) -> str:
    shown = f'<p class="problem" role="alert">{_e(problem)}</p>' if problem else ""
    return layout("Log in", LOGIN.substitute(problem=shown, next=_e(next_path)), logged_in=False)


def short_time(iso: str) -> str:
    return f"{display(iso)} UTC" if parse(iso) else iso


def steps(story: Story, *, big: bool = False) -> str:
    items = []
    for step in story.steps:
        detail = f'<span class="step-detail">{_e(step.detail)}</span>' if big and step.detail else ""
        items.append(
            f'<li class="step {_e(step.state)}" data-step="{_e(step.name)}" data-state="{_e(step.state)}" '
            f'title="{_e(step.name)}: {_e(step.state)}{": " + _e(step.detail) if step.detail else ""}">'
            f'<span><span class="mark" aria-hidden="true">{MARKS.get(step.state, "?")}</span> {_e(step.name)}</span>'
            f"{detail}</li>")
    return f'<ol class="steps{" big" if big else ""}" aria-label="stages">{"".join(items)}</ol>'


def links(story: Story) -> str:
    shown = [f'<li><a href="{_e(story.links[name])}" rel="noopener noreferrer" data-link="{name}">{name}</a></li>'
             for name in LINK_NAMES if name in story.links]
    return f'<ul class="links">{"".join(shown)}</ul>' if shown else ""


def _error(story: Story) -> str:
    return f'<p class="error" role="status">{_e(story.error)}</p>' if story.error else ""


def _refresh(in_flight: bool) -> str:
    return "· refreshing while in flight" if in_flight else ""


def brief_item(story: Story) -> str:
    return (
        f'<li class="brief {_e(story.state)}" data-id="{_e(story.id)}" data-state="{_e(story.state)}">'
        f'<div class="head"><a class="task" href="/status/briefs/{_e(story.id)}">{_e(story.task)}</a>'
        f'<span class="round">round {story.round}</span>'
        f'<span class="badge {_e(story.state)}">{STATE_LABELS.get(story.state, _e(story.state))}</span>'
        f'<time datetime="{_e(story.accepted_at)}">{_e(short_time(story.accepted_at))}</time></div>'
        f"{steps(story)}{_error(story)}{links(story)}</li>")


def list_page(stories: list[Story], version: str, task: str | None, state: str | None) -> str:
    query = urlencode({k: v for k, v in (("task", task), ("state", state)) if v})
    options = ['<option value="">any state</option>'] + [
        f'<option value="{s}"{" selected" if s == state else ""}>{STATE_LABELS[s]}</option>' for s in STATES]
    counts = ", ".join(f"{sum(1 for s in stories if s.state == st)} {STATE_LABELS[st]}" for st in STATES)
    items = (f'<ul class="briefs">{"".join(brief_item(s) for s in stories)}</ul>' if stories
             else '<p class="empty">No brief matches.</p>')
    in_flight = any(s.in_flight for s in stories)
    main = LIST.substitute(
        feed=_e("/briefs" + (f"?{query}" if query else "")), version=_e(version), in_flight=str(in_flight).lower(),
        task=_e(task or ""), state_options="".join(options), counts=_e(f"{len(stories)} shown: {counts}"),
        refresh=_refresh(in_flight), items=items)
    return layout("Briefs", main, logged_in=True)


def detail_page(story: Story, version: str) -> str:
    timeline = "".join(
        f'<li class="{_e(entry.level)}"><time datetime="{_e(entry.at)}">{_e(short_time(entry.at))}</time> '
        f"{_e(entry.text)}</li>" for entry in story.timeline)
    notification = (f'<p class="notification">evaluator answered: {_e(story.notification)}</p>'
                    if story.notification else "")
    main = DETAIL.substitute(
        feed=_e(f"/briefs/{story.id}/story"), version=_e(version), in_flight=str(story.in_flight).lower(),
        task=_e(story.task), round=story.round, state=_e(story.state),
        state_label=STATE_LABELS.get(story.state, _e(story.state)), id=_e(story.id),
        accepted_at=_e(short_time(story.accepted_at)), refresh=_refresh(story.in_flight),
        steps=steps(story, big=True), error=_error(story), notification=notification, links=links(story),
        timeline=timeline)
    return layout(f"{story.task} round {story.round}", main, logged_in=True)
