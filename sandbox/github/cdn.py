"""The CDN in front of GitHub Pages (Fastly): every answer, 404s and redirects included, is kept per full URL
(path and query) for the `max-age` the host sent, and answered from the cache until it expires.

So a page polled with the same cache-busting query keeps its first answer, a 404 from before the build
included; a fresh query reaches the host. The headers are those GitHub Pages answers carry (`Age`, `X-Cache:
HIT`/`MISS`, `X-Cache-Hits`, `Via: 1.1 varnish`, `X-Served-By`, `X-Fastly-Request-ID`; a captured set is in
ouyi.github.io/post/2018/01/14/github-pages-cname-file.html).
"""

from __future__ import annotations

import re
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

MAX_ENTRIES = 10_000
_MAX_AGE = re.compile(r"max-age=(\d+)")
# Headers the edge adds per answer; the rest is the origin's, kept with the cached body.
_EDGE = ("Age", "X-Cache", "X-Cache-Hits", "X-Served-By", "X-Fastly-Request-ID", "Via")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Entry:
    status: int
    headers: dict[str, str]
    body: bytes
    stored: float
    expires: float
    hits: int = 0


def max_age(cache_control: str | None) -> float:
    """Seconds a shared cache may keep an answer with this `Cache-Control` (0: not at all)."""
    if not cache_control or "no-store" in cache_control or "private" in cache_control:
        return 0.0
    found = _MAX_AGE.search(cache_control)
    return float(found.group(1)) if found else 0.0


class Cache:
    """Answers by full URL, oldest dropped first past MAX_ENTRIES; `clock` is monotonic seconds."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self.entries: OrderedDict[str, Entry] = OrderedDict()

    def get(self, key: str) -> Entry | None:
        entry = self.entries.get(key)
        if entry is None:
            return None
        if self.clock() >= entry.expires:
            del self.entries[key]
            return None
        entry.hits += 1
        return entry

    def put(self, key: str, status: int, headers: dict[str, str], body: bytes) -> None:
        ttl = max_age(headers.get("Cache-Control"))
        if ttl <= 0:
            return
        now = self.clock()
        self.entries[key] = Entry(status, headers, body, now, now + ttl)
        self.entries.move_to_end(key)
        while len(self.entries) > MAX_ENTRIES:
            self.entries.popitem(last=False)


def _edge_headers(hit: bool, age: float, hits: int) -> dict[str, str]:
    return {"Age": str(int(age)), "X-Cache": "HIT" if hit else "MISS", "X-Cache-Hits": str(hits),
            "Via": "1.1 varnish", "X-Served-By": "cache-sandbox-LOCAL", "X-Fastly-Request-ID": uuid.uuid4().hex}


def middleware(cache: Cache) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    @web.middleware
    async def cdn(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method not in ("GET", "HEAD"):
            return await handler(request)
        key = request.raw_path  # the full URL: path and query string
        entry = cache.get(key)
        if entry is not None:
            return web.Response(status=entry.status, body=entry.body, headers={
                **entry.headers, **_edge_headers(True, cache.clock() - entry.stored, entry.hits)})
        response = await handler(request)
        if not isinstance(response, web.Response):
            return response
        body = response.body if isinstance(response.body, bytes) else b""
        origin = {k: v for k, v in response.headers.items() if k not in _EDGE and k.lower() != "content-length"}
        cache.put(key, response.status, origin, body)
        response.headers.update(_edge_headers(False, 0, 0))
        return response

    return cdn
