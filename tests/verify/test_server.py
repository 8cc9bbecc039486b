"""The local copy of the site answers like GitHub Pages: under the prefix Pages serves it at (`/<repo>/` for a project
site, `/` for a user site; any prefix works)."""

from __future__ import annotations

from urllib.parse import urlsplit

import requests

from action.round_plan import site_prefix
from action.verify.server import SiteServer

SITE = {"index.html": b"<!doctype html><title>x</title>", "data.csv": b"a,b\n", "docs/index.html": b"<p>docs",
        "app.js": b"1;"}


def test_serves_the_site_under_the_pages_prefix() -> None:
    with SiteServer(SITE, "/octo/my-app/") as server:
        assert server.url.startswith("http://127.0.0.1:") and server.url.endswith("/octo/my-app/")
        root = requests.get(server.url, timeout=5)
        assert root.status_code == 200 and root.content == SITE["index.html"]
        assert root.headers["Content-Type"] == "text/html; charset=utf-8"
        assert requests.get(server.url + "data.csv", timeout=5).headers["Content-Type"].startswith("text/csv")
        assert requests.get(server.url + "app.js", timeout=5).headers["Content-Type"].startswith("text/javascript")
        assert requests.get(server.url + "docs/", timeout=5).content == b"<p>docs"
        moved = requests.get(server.url + "docs", timeout=5, allow_redirects=False)
        assert moved.status_code == 301 and moved.headers["Location"] == "/octo/my-app/docs/"
        bare = requests.get(server.url.rstrip("/"), timeout=5, allow_redirects=False)
        assert bare.status_code == 301 and bare.headers["Location"] == "/octo/my-app/"
        assert requests.get(server.url + "missing.js", timeout=5).status_code == 404
        # The site is not at the host's root, exactly as on Pages: absolute paths miss.
        assert requests.get(server.url.split("/octo/")[0] + "/index.html", timeout=5).status_code == 404
        assert requests.get(server.url + "../../etc/passwd", timeout=5).status_code == 404


def test_a_user_site_is_served_at_the_root_and_a_project_site_under_its_repository() -> None:
    """As Pages does on the owner's host (`site_prefix`): the same site, two layouts."""
    with SiteServer(SITE, site_prefix("octo", "octo.github.io")) as server:
        assert urlsplit(server.url).path == "/"
        assert requests.get(server.url, timeout=5).content == SITE["index.html"]
        assert requests.get(server.url + "docs/", timeout=5).content == b"<p>docs"
    with SiteServer(SITE, site_prefix("octo", "my-app")) as server:
        assert server.url.endswith("/my-app/") and "/octo/" not in server.url
        assert requests.get(server.url, timeout=5).content == SITE["index.html"]
        assert requests.get(server.url.removesuffix("my-app/") + "index.html", timeout=5).status_code == 404
