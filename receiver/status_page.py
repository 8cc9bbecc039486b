"""The status page's routes: `/` (to `/status`), `/status`, `/status/briefs/{id}`, and logging in and out.

Without a session every page answers 401 with the login form and nothing about any brief. Logging in takes
SHARED_SECRET from a POSTed form (never a URL) under a per-client rate limit, and sets the session cookie
(receiver.access).
"""

from __future__ import annotations

import time
from html import escape
from urllib.parse import urlsplit

from aiohttp import web

from receiver import events, pages
from receiver.access import same_site
from receiver.journal import JournalUnavailable
from receiver.outbox import OutboxUnavailable
from receiver.ratelimit import RateLimiter
from receiver.status_api import ACCESS, BOARD, QueryError, filters, listing, story_body

LOGIN_LIMITER = web.AppKey("login_limiter", RateLimiter)
LOGINS_PER_MINUTE = 30  # a burst of 5 (RateLimiter keeps 10 s worth), then one every 2 s
MAX_FORM_BYTES = 4096


def _html(text: str, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8",
                        headers={**pages.HEADERS, **(headers or {})})


def _login_required(request: web.Request) -> web.Response:
    return _html(pages.login_page(None, request.path_qs), status=401)


def safe_next(value: object) -> str:
    """Where to go after logging in: a path of the status page only (never another site)."""
    if not isinstance(value, str) or "\\" in value or urlsplit(value).netloc or urlsplit(value).scheme:
        return "/status"
    path = urlsplit(value).path
    return value if path == "/status" or (path.startswith("/status/") and ".." not in path) else "/status"


def _redirect(target: str) -> web.Response:
    return web.Response(status=303, headers={"Location": target, "Cache-Control": "no-store"})


async def home(_: web.Request) -> web.Response:
    return _redirect("/status")


async def status_list(request: web.Request) -> web.Response:
    if not request.app[ACCESS].allowed(request):
        return _login_required(request)
    try:
        limit, task, state = filters(request.query)
    except QueryError as exc:
        return _html(pages.layout("Bad filter", f'<main><p class="problem">{escape(str(exc))}</p></main>',
                                  logged_in=True), status=400)
    try:
        stories = await request.app[BOARD].stories(limit, task, state)
    except (OutboxUnavailable, JournalUnavailable):
        return _html(pages.layout("Unavailable", "<main><p>The receiver's storage cannot be read right now.</p>"
                                  "</main>", logged_in=True), status=503, headers={"Retry-After": "5"})
    return _html(pages.list_page(stories, listing(stories)["version"], task, state))


async def status_detail(request: web.Request) -> web.Response:
    if not request.app[ACCESS].allowed(request):
        return _login_required(request)
    try:
        story = await request.app[BOARD].story(request.match_info["id"])
    except (OutboxUnavailable, JournalUnavailable):
        return _html(pages.layout("Unavailable", "<main><p>The receiver's storage cannot be read right now.</p>"
                                  "</main>", logged_in=True), status=503, headers={"Retry-After": "5"})
    if story is None:
        return _html(pages.layout("Not found", '<main><p>No brief with this id. <a href="/status">All briefs</a>'
                                  "</p></main>", logged_in=True), status=404)
    return _html(pages.detail_page(story, story_body(story)["version"]))


async def login_form(request: web.Request) -> web.Response:
    return _html(pages.login_page(None, safe_next(request.query.get("next"))))


async def login(request: web.Request) -> web.Response:
    client = request.remote or "unknown"
    if not same_site(request):
        return _html(pages.login_page("This form must be sent from this site.", "/status"), status=403)
    wait = request.app[LOGIN_LIMITER].check(client, time.monotonic())
    if wait:
        return _html(pages.login_page(f"Too many attempts; try again in {wait:.0f} s.", "/status"), status=429,
                     headers={"Retry-After": f"{wait:.0f}"})
    if request.content_length is not None and request.content_length > MAX_FORM_BYTES:
        return _html(pages.login_page("The form is too large.", "/status"), status=413)
    form = await request.post()
    access = request.app[ACCESS]
    secret = form.get("secret")
    target = safe_next(form.get("next"))
    if not access.secret_ok(secret if isinstance(secret, str) else None):
        events.event("login_refused", client=client)
        return _html(pages.login_page("That is not the shared secret.", target), status=401)
    events.event("login", client=client)
    response = _redirect(target)
    access.set_session(response, time.time())
    return response


async def logout(request: web.Request) -> web.Response:
    if not same_site(request):
        return _html(pages.login_page("This form must be sent from this site.", "/status"), status=403)
    response = _redirect("/status/login")
    request.app[ACCESS].end_session(response)
    return response


def setup(app: web.Application) -> None:
    """The page's routes; it reads the board and access that receiver.status_api.setup put on the app."""
    app[LOGIN_LIMITER] = RateLimiter(LOGINS_PER_MINUTE)
    app.router.add_get("/", home)
    app.router.add_get("/status", status_list)
    app.router.add_get("/status/briefs/{id}", status_detail)
    app.router.add_get("/status/login", login_form)
    app.router.add_post("/status/login", login)
    app.router.add_post("/status/logout", logout)
