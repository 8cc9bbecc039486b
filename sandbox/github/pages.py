"""GitHub Pages: builds (each push to the source branch starts one) and the host that serves built commits.

A build is `building` for --build-delay seconds, then `built` (the host now serves its commit) or `errored`
when armed through `/_sandbox/pages/faults`. The host serves `http://<pages-host>/<owner>/<repo>/...` from the
last built commit only, like github.io: 404 before the first build, `index.html` for directories, redirects
to the slash-terminated URL, the site's `404.html` for missing files when it has one, and Jekyll's rule that
`_x`/`.x` paths are not published without a `.nojekyll` file.
"""

from __future__ import annotations

import asyncio
import itertools
import mimetypes
import time

from aiohttp import web

from sandbox.github.api import CTX, Context
from sandbox.github.state import Account, PageBuild, PagesSite, Repository
from sandbox.github.store import MODE_TREE

_build_ids = itertools.count(100000)
ERROR_MESSAGE = "Page build failed."


def start_build(c: Context, repo: Repository, commit: str, pusher: Account | None,
                served: str | None = None) -> PageBuild:
    """A build of `commit`; `served` (an uploaded artifact's commit) is what the host then serves instead."""
    site = repo.pages
    assert site is not None
    now = time.time()
    build = PageBuild(next(_build_ids), "building", commit, pusher, now, now, served=served)
    site.builds.append(build)
    task = asyncio.get_running_loop().create_task(_finish(c, repo, site, build))
    c.background.add(task)
    task.add_done_callback(c.background.discard)
    return build


async def _finish(c: Context, repo: Repository, site: PagesSite, build: PageBuild) -> None:
    await asyncio.sleep(c.state.build_delay)
    build.updated = time.time()
    build.duration = int((build.updated - build.created) * 1000)
    if repo.pages is not site:
        build.status = "errored"
        build.error = "Pages was disabled during the build."
        return
    if site.fail_next > 0 or not build.commit:
        site.fail_next = max(site.fail_next - 1, 0)
        build.status, build.error = "errored", ERROR_MESSAGE if build.commit else "The source branch does not exist."
        return
    build.status = "built"
    newest = max((b.id for b in site.builds if b.status == "built"), default=0)
    if build.id >= newest:
        site.built_commit = build.commit
        site.served_commit = build.served or build.commit


def on_push(c: Context, repo: Repository, ref: str, sha: str, pusher: Account | None) -> None:
    """Called after a branch moved (ref update or contents PUT): rebuild when it is the Pages source branch."""
    site = repo.pages
    if site is not None and site.build_type == "legacy" and ref == f"refs/heads/{site.branch}":
        start_build(c, repo, sha, pusher)


_TYPES = {".html": "text/html; charset=utf-8", ".js": "application/javascript; charset=utf-8",
          ".mjs": "application/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
          ".json": "application/json; charset=utf-8", ".svg": "image/svg+xml", ".txt": "text/plain; charset=utf-8",
          ".md": "text/markdown; charset=utf-8", ".wasm": "application/wasm", ".ico": "image/x-icon"}


def content_type(path: str) -> str:
    dot = path.rfind(".")
    ext = path[dot:].lower() if dot > path.rfind("/") else ""
    return _TYPES.get(ext) or mimetypes.guess_type(path)[0] or "application/octet-stream"


def jekyll_hides(path: str) -> bool:
    """A branch-built site goes through Jekyll, which leaves out paths with a segment starting with `_` or `.`
    unless the site has a `.nojekyll` file (GitHub Docs, "About GitHub Pages and Jekyll")."""
    return any(part.startswith(("_", ".")) for part in path.split("/") if part)


def _not_found() -> web.Response:
    return web.Response(status=404, text="<!doctype html><title>404</title><h1>404</h1><p>File not found</p>\n",
                        content_type="text/html")


async def serve(request: web.Request) -> web.StreamResponse:
    c = request.app[CTX]
    owner, _, rest = request.match_info["tail"].partition("/")
    name, slash, file_path = rest.partition("/")
    repo = c.state.repo(owner, name) if owner and name else None
    site = repo.pages if repo is not None else None
    if repo is None or site is None or site.built_commit is None:
        return _not_found()
    if not slash:
        raise web.HTTPMovedPermanently(f"/{owner}/{name}/")
    commit = repo.git.get_commit(site.served_commit or site.built_commit)
    if commit is None:
        return _not_found()
    root = commit.tree.decode()
    if site.path != "/" and site.served_commit in (None, site.built_commit):  # an artifact is the site's root
        found = repo.git.lookup(root, site.path)
        if found is None or found[0] != MODE_TREE:
            return _not_found()
        root = found[1]
    target = file_path.rstrip("/")
    hidden = site.build_type == "legacy" and jekyll_hides(target) and repo.git.lookup(root, ".nojekyll") is None
    found = None if hidden else repo.git.lookup(root, target) if target else (MODE_TREE, root)
    if found is not None and found[0] == MODE_TREE:
        if file_path and not file_path.endswith("/"):
            raise web.HTTPMovedPermanently(f"{request.path}/")
        target = f"{target}/index.html" if target else "index.html"
        found = repo.git.lookup(root, target)
    status = 200
    if found is None or found[0] == MODE_TREE:
        custom = repo.git.lookup(root, "404.html")
        if custom is None or custom[0] == MODE_TREE:
            return _not_found()
        found, target, status = custom, "404.html", 404
    blob = repo.git.get_blob(found[1])
    if blob is None:
        return _not_found()
    return web.Response(body=blob.as_raw_string(), status=status,
                        headers={"Content-Type": content_type(target), "Cache-Control": "max-age=600",
                                 "ETag": f'"{found[1]}"'})


def build_host(c: Context) -> web.Application:
    app = web.Application()
    app[CTX] = c
    app.router.add_get("/{tail:.*}", serve)
    return app
