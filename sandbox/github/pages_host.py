"""The Pages host of one owner, as `https://<owner>.github.io` (one port per owner here), behind its CDN.

A project site is served at `/<repo>/`, the user (or organization) site, the `<owner>.github.io` repository, at `/`;
a project site wins over a folder of the user site with the same name (zakuarbor.github.io/blog/
github-pages-behavior). Each site serves the tree of its last successful build only: GitHub's 404 page before the
first build, `index.html` for directories, a redirect to the slash-terminated URL, the site's own `404.html` for
missing files when it has one. The CDN (`cdn.py`) keeps each answer for the `max-age` sent here.
"""

from __future__ import annotations

import mimetypes
import time
from email.utils import formatdate

from aiohttp import web

from sandbox.github import cdn
from sandbox.github.api import CTX, Context
from sandbox.github.state import Repository, State, Urls
from sandbox.github.store import MODE_TREE

OWNER = web.AppKey("owner", str)
_TYPES = {".html": "text/html; charset=utf-8", ".js": "application/javascript; charset=utf-8",
          ".mjs": "application/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
          ".json": "application/json; charset=utf-8", ".svg": "image/svg+xml", ".txt": "text/plain; charset=utf-8",
          ".md": "text/markdown; charset=utf-8", ".wasm": "application/wasm", ".ico": "image/x-icon"}
# GitHub's own 404 pages: no site at this address, or a site without the file.
NO_SITE = ("<!DOCTYPE html><html><head><title>Site not found &middot; GitHub Pages</title></head><body>"
           "<h1>404</h1><p><strong>There isn't a GitHub Pages site here.</strong></p></body></html>\n")
NO_FILE = ("<!DOCTYPE html><html><head><title>Page not found &middot; GitHub Pages</title></head><body>"
           "<h1>404</h1><p><strong>File not found</strong></p><p>The site configured at this address does not "
           "contain the requested file.</p></body></html>\n")


def user_site_name(owner: str) -> str:
    return f"{owner}.github.io"


def is_user_site(repo: Repository) -> bool:
    return repo.name.lower() == user_site_name(repo.owner.login).lower()


def site_url(urls: Urls, repo: Repository) -> str:
    """The site's address (the Pages API's `html_url`): `/` for the user site, `/<repo>/` for a project site."""
    host = urls.pages[repo.owner.login.lower()]
    return f"{host}/" if is_user_site(repo) else f"{host}/{repo.name}/"


def content_type(path: str) -> str:
    dot = path.rfind(".")
    ext = path[dot:].lower() if dot > path.rfind("/") else ""
    return _TYPES.get(ext) or mimetypes.guess_type(path)[0] or "application/octet-stream"


def _headers(c: Context, kind: str) -> dict[str, str]:
    """What GitHub Pages sends with every answer; `max-age` is the CDN setting (600 on GitHub)."""
    age = int(c.state.settings.cdn_max_age)
    now = time.time()
    return {"Content-Type": kind, "Server": "GitHub.com", "Cache-Control": f"max-age={age}",
            "Expires": formatdate(now + age, usegmt=True), "Access-Control-Allow-Origin": "*",
            "Vary": "Accept-Encoding", "X-GitHub-Request-Id": f"{int(now * 1000) % 0xFFFFFFFF:X}"}


def _page(c: Context, status: int, body: bytes, kind: str, extra: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, body=body, headers={**_headers(c, kind), **(extra or {})})


def _site_of(state: State, owner: str, path: str) -> tuple[Repository, str, str] | None:
    """(repository, prefix, path inside the site) for a request path on this owner's host."""
    first, _, _ = path.lstrip("/").partition("/")
    project = state.repo(owner, first) if first else None
    if project is not None and not is_user_site(project) and project.pages is not None \
            and project.pages.built_commit is not None:
        return project, f"/{project.name}", path.lstrip("/")[len(first):]
    user = state.repo(owner, user_site_name(owner))
    if user is not None and user.pages is not None and user.pages.built_commit is not None:
        return user, "", path
    return None


async def serve(request: web.Request) -> web.Response:
    c = request.app[CTX]
    html = "text/html; charset=utf-8"
    found_site = _site_of(c.state, request.app[OWNER], request.path)
    if found_site is None:
        return _page(c, 404, NO_SITE.encode(), html)
    repo, prefix, inner = found_site
    site = repo.pages
    assert site is not None
    if not inner:
        return _page(c, 301, b"", html, {"Location": f"{prefix}/"})
    root = site.served_tree
    if root is None or repo.git.get_tree(root) is None:
        return _page(c, 404, NO_FILE.encode(), html)
    target = inner.strip("/")
    found = repo.git.lookup(root, target) if target else (MODE_TREE, root)
    if found is not None and found[0] == MODE_TREE:
        if not inner.endswith("/"):
            return _page(c, 301, b"", html, {"Location": f"{request.path}/"})
        target = f"{target}/index.html" if target else "index.html"
        found = repo.git.lookup(root, target)
    status = 200
    if found is None or found[0] == MODE_TREE:
        custom = repo.git.lookup(root, "404.html")
        if custom is None or custom[0] == MODE_TREE:
            return _page(c, 404, NO_FILE.encode(), html)
        found, target, status = custom, "404.html", 404
    blob = repo.git.get_blob(found[1])
    if blob is None:
        return _page(c, 404, NO_FILE.encode(), html)
    return _page(c, status, blob.as_raw_string(), content_type(target),
                 {"ETag": f'"{found[1]}"', "Last-Modified": formatdate(site.built_at, usegmt=True)})


def build_host(c: Context, owner: str) -> web.Application:
    app = web.Application(middlewares=[cdn.middleware(cdn.Cache())])
    app[CTX] = c
    app[OWNER] = owner
    app.router.add_get("/{tail:.*}", serve)
    return app
