"""Serve an assembled site (path -> bytes) on 127.0.0.1 under the path Pages will serve it at, in a thread: `/<repo>/`
for a project site, `/` for a user site (`action/round_plan.py` `site_prefix`; any prefix works).

The browser then sees what a grader sees on GitHub Pages: relative URLs resolve under the prefix, `/` is not the
site root of a project site, a directory answers its `index.html`, a missing file is a 404, and the prefix without
its slash redirects to it. The port is ephemeral; nothing outside the loopback interface can connect.
"""

from __future__ import annotations

import mimetypes
import threading
from collections.abc import Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import quote, unquote, urlsplit

EXTRA_TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".json": "application/json",
               ".csv": "text/csv", ".md": "text/markdown", ".webmanifest": "application/manifest+json",
               ".svg": "image/svg+xml", ".wasm": "application/wasm"}


def content_type(path: str) -> str:
    suffix = "." + path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""
    kind = EXTRA_TYPES.get(suffix) or mimetypes.guess_type(path)[0] or "application/octet-stream"
    return kind + ("; charset=utf-8" if kind.startswith("text/") or kind.endswith(("json", "javascript")) else "")


class SiteServer:
    """`with SiteServer(site, "/owner/repo/") as server: server.url` -> `http://127.0.0.1:PORT/owner/repo/`."""

    def __init__(self, site: Mapping[str, bytes], prefix: str = "/"):
        self.site = dict(site)
        self.prefix = "/" + "/".join(quote(part) for part in prefix.strip("/").split("/") if part)
        self.prefix = self.prefix.rstrip("/") + "/"
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="site-server", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{self.prefix}"

    def __enter__(self) -> SiteServer:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    def resolve(self, raw_path: str) -> tuple[HTTPStatus, str | None]:
        """(200, site path) | (301, location) | (404, None) for a request path."""
        path = unquote(urlsplit(raw_path).path)
        if path + "/" == unquote(self.prefix):
            return HTTPStatus.MOVED_PERMANENTLY, self.prefix
        if not path.startswith(unquote(self.prefix)):
            return HTTPStatus.NOT_FOUND, None
        inner = path[len(unquote(self.prefix)):]
        if inner == "" or inner.endswith("/"):
            inner += "index.html"
        if inner in self.site:
            return HTTPStatus.OK, inner
        if inner + "/index.html" in self.site:
            return HTTPStatus.MOVED_PERMANENTLY, self.prefix + quote(inner) + "/"
        return HTTPStatus.NOT_FOUND, None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self._answer(body=True)

            def do_HEAD(self) -> None:
                self._answer(body=False)

            def _answer(self, *, body: bool) -> None:
                status, target = server.resolve(self.path)
                if status is HTTPStatus.OK and target is not None:
                    data, kind = server.site[target], content_type(target)
                elif status is HTTPStatus.MOVED_PERMANENTLY and target is not None:
                    data, kind = b"", "text/plain"
                else:
                    data, kind = b"<!doctype html><title>404</title><h1>404 File not found</h1>", "text/html"
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                if status is HTTPStatus.MOVED_PERMANENTLY and target is not None:
                    self.send_header("Location", target)
                self.end_headers()
                if body:
                    self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                return  # the browser's failed requests are collected by the runner instead

        return Handler
