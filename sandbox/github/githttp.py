"""The web side of the emulator's port: smart-HTTP git (`git clone <clone_url>`) and a repository's html_url.

Git is served by `git http-backend` run as a CGI program (the only per-request subprocess), read-only: pushes
are refused, because writes go through the REST API, which moves refs with a compare-and-swap and starts Pages
builds. Private repositories ask for Basic credentials (any user name, a token with access as the password),
as github.com does.
"""

from __future__ import annotations

import asyncio
import html
import os
from contextlib import suppress

from aiohttp import web

from sandbox.github.api import authenticate, ctx
from sandbox.github.errors import ApiError
from sandbox.github.state import Repository

_SERVICES = {"git-upload-pack"}


def _repo(request: web.Request) -> Repository | None:
    return ctx(request).state.repo(request.match_info["owner"], request.match_info["repo"])


def _allowed(request: web.Request, repo: Repository) -> bool:
    if not repo.private:
        return True
    try:
        user = authenticate(request.headers.get("Authorization"), ctx(request).state)
    except ApiError:
        return False
    return ctx(request).state.permission(user, repo) is not None


async def git_backend(request: web.Request) -> web.StreamResponse:
    repo = _repo(request)
    tail = request.match_info["tail"]
    service = request.query.get("service", "") if tail == "info/refs" else tail
    if repo is None:
        return web.Response(status=404, text="Repository not found.\n")
    if not _allowed(request, repo):
        return web.Response(status=401, text="Authentication required.\n",
                            headers={"WWW-Authenticate": 'Basic realm="GitHub"'})
    if service not in _SERVICES and tail not in ("HEAD",):
        return web.Response(status=403, text="Pushes go through the REST API in this sandbox.\n")
    state = ctx(request).state
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "GIT_PROJECT_ROOT": str(state.data_dir),
        "GIT_HTTP_EXPORT_ALL": "1",
        "PATH_INFO": f"/{repo.owner.login}/{repo.git.path.name}/{tail}",
        "REQUEST_METHOD": request.method,
        "QUERY_STRING": request.query_string,
        "CONTENT_TYPE": request.headers.get("Content-Type", ""),
        "REMOTE_ADDR": request.remote or "127.0.0.1",
        "GIT_PROTOCOL": request.headers.get("Git-Protocol", ""),
        "HTTP_CONTENT_ENCODING": request.headers.get("Content-Encoding", ""),
    }
    if request.content_length is not None:
        env["CONTENT_LENGTH"] = str(request.content_length)
    proc = await asyncio.create_subprocess_exec(
        "git", "http-backend", env=env, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert proc.stdin is not None and proc.stdout is not None

    async def feed() -> None:
        assert proc.stdin is not None
        with suppress(BrokenPipeError, ConnectionResetError):
            async for chunk in request.content.iter_chunked(65536):
                proc.stdin.write(chunk)
                await proc.stdin.drain()
        proc.stdin.close()

    feeder = asyncio.create_task(feed())
    try:
        status, headers = 200, {}
        while line := (await proc.stdout.readline()).rstrip(b"\r\n"):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            else:
                headers[name.strip()] = value.strip()
        response = web.StreamResponse(status=status, headers=headers)
        await response.prepare(request)
        while chunk := await proc.stdout.read(65536):
            await response.write(chunk)
        await response.write_eof()
        return response
    finally:
        await feeder
        if proc.returncode is None:
            with suppress(ProcessLookupError):
                proc.kill()
        await proc.wait()


async def repo_page(request: web.Request) -> web.Response:
    """The repository's html_url: a small page naming it (github.com shows the repository here)."""
    repo = _repo(request)
    if repo is None or (repo.private and not _allowed(request, repo)):
        return web.Response(status=404, text="Not Found\n")
    name = html.escape(repo.full_name)
    clone = html.escape(f"{ctx(request).state.urls.server}/{repo.full_name}.git")
    return web.Response(
        text=f"<!doctype html><title>{name}</title><h1>{name}</h1><p>git clone <code>{clone}</code></p>\n",
        content_type="text/html",
    )


ROUTES = [
    ("GET", "/{owner}/{repo}.git/{tail:.*}", git_backend),
    ("POST", "/{owner}/{repo}.git/{tail:.*}", git_backend),
    ("GET", "/{owner}/{repo}", repo_page),
]
