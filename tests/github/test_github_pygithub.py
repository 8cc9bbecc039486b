"""A real client (PyGithub, unchanged) publishes a site through the Git Data API; git and the Pages host agree."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import requests
from github import Auth, Github, InputGitTreeElement

from tests.conftest import GitHub
from tests.github.helpers import wait_for_build

PNG = bytes(range(256)) * 4 + b"\x89PNG\r\n\x1a\n\x00\xff"
INDEX = "<!doctype html>\n<title>Hello</title>\n<h1>Héllo, Pages</h1>\n"


def client(gh: GitHub, token: str | None = None) -> Github:
    """PyGithub as configured out of the box, except its client-side pacing (0.25 s/1 s between calls)."""
    return Github(base_url=gh.url, auth=Auth.Token(token or gh.token), retry=None, seconds_between_requests=0,
                  seconds_between_writes=0)


def test_publish_site_with_pygithub_clone_and_pages(github: GitHub, tmp_path: Path) -> None:
    g = client(github)
    assert g.get_user().login == "sandbox"
    repo = g.get_user().create_repo("site", auto_init=True, description="demo")
    assert repo.full_name == "sandbox/site"
    github.settle(repo.full_name)

    ref = repo.get_git_ref("heads/main")
    base = repo.get_git_commit(ref.object.sha)
    blob = repo.create_git_blob(base64.b64encode(PNG).decode(), "base64")
    tree = repo.create_git_tree([
        InputGitTreeElement("index.html", "100644", "blob", content=INDEX),
        InputGitTreeElement("assets/img/logo.png", "100644", "blob", sha=blob.sha),
        InputGitTreeElement("run.sh", "100755", "blob", content="#!/bin/sh\necho hi\n"),
        InputGitTreeElement("README.md", "100644", "blob", sha=None),
    ], base_tree=base.tree)
    commit = repo.create_git_commit("Round 1\n\nDeployer-Task: site", tree, [base])
    ref.edit(commit.sha)
    assert repo.get_git_ref("heads/main").object.sha == commit.sha

    # The API reads back what was written, byte for byte, with git's own SHAs.
    assert repo.get_contents("assets/img/logo.png").decoded_content == PNG
    assert repo.get_contents("index.html").decoded_content == INDEX.encode()
    git_blob_sha = subprocess.run(["git", "hash-object", "--stdin"], input=PNG, capture_output=True,
                                  check=True).stdout.decode().strip()
    assert blob.sha == git_blob_sha
    paths = {e.path: e.mode for e in repo.get_git_tree(commit.sha, recursive=True).tree}
    assert paths == {"index.html": "100644", "assets": "040000", "assets/img": "040000",
                     "assets/img/logo.png": "100644", "run.sh": "100755"}
    assert [c.sha for c in repo.get_commits()] == [commit.sha, base.sha]
    assert repo.get_commit("main").commit.message.startswith("Round 1")

    # A plain `git clone` of clone_url sees the same commit and bytes.
    dest = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", repo.clone_url, str(dest)], check=True, capture_output=True)
    head = subprocess.run(["git", "-C", str(dest), "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    assert head.stdout.strip() == commit.sha
    assert (dest / "assets/img/logo.png").read_bytes() == PNG
    assert not (dest / "README.md").exists()

    # Enable Pages through the requester (PyGithub has no method for it) and read html_url.
    pages_path = f"{repo.url}/pages"
    _, page = repo._requester.requestJsonAndCheck("POST", pages_path, input={"source": {"branch": "main"}})
    assert page["html_url"] == github.site("site")
    assert page["source"] == {"branch": "main", "path": "/"}
    build = wait_for_build(github, "sandbox/site", commit.sha)
    assert build["status"] == "built"
    served = requests.get(page["html_url"], timeout=10)
    assert served.status_code == 200
    assert served.content == INDEX.encode()
    assert served.headers["Content-Type"] == "text/html; charset=utf-8"
    logo = requests.get(f"{page['html_url']}assets/img/logo.png", timeout=10)
    assert logo.content == PNG
    assert logo.headers["Content-Type"] == "image/png"
    _, status = repo._requester.requestJsonAndCheck("GET", pages_path)
    assert status["status"] == "built"
