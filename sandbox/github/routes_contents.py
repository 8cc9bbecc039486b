"""The Contents API (read a file or directory, create/update one file as a commit) and the Commits API."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from aiohttp import web
from dulwich.objects import Commit

from sandbox.github import shapes
from sandbox.github.api import caller, ctx, read_json, repository, respond, typed
from sandbox.github.errors import ApiError, empty_repository, not_found, unprocessable
from sandbox.github.routes_actions import page_params
from sandbox.github.routes_git import check_workflow_scope, default_identity, identity_from, moved
from sandbox.github.state import Account, Repository, State
from sandbox.github.store import MODE_FILE, MODE_TREE, BadPath, split_path, valid_ref_name

MAX_INLINE = 1024 * 1024  # larger files come back with encoding "none", as on GitHub


def resolve_commit(repo: Repository, ref: str | None) -> str | None:
    """A commit SHA from a branch, tag, `refs/...` name or full SHA; the default branch when `ref` is None."""
    ref = ref or repo.default_branch
    for name in (f"refs/heads/{ref}", f"refs/tags/{ref}", ref):
        if name.startswith("refs/") and (sha := repo.git.ref(name)):
            commit = repo.git.get(sha)
            while commit is not None and commit.type_name == b"tag":
                commit = repo.git.get(commit.object[1].decode())  # type: ignore[attr-defined]
            return commit.id.decode() if isinstance(commit, Commit) else None
    return ref if repo.git.get_commit(ref) is not None else None


async def get_content(request: web.Request) -> web.Response:
    c = ctx(request)
    repo = repository(request)
    path = request.match_info["path"].strip("/")
    if repo.git.is_empty():
        raise ApiError(404, "This repository is empty.")
    ref = request.query.get("ref")
    sha = resolve_commit(repo, ref)
    if sha is None:
        raise ApiError(404, f"No commit found for the ref {ref}")
    commit = repo.git.get_commit(sha)
    assert commit is not None
    found = repo.git.lookup(commit.tree.decode(), path)
    if found is None:
        raise not_found()
    mode, obj_sha = found
    ref_name = ref or repo.default_branch
    if mode == MODE_TREE:
        items = [shapes.content_entry(repo, f"{path}/{name}" if path else name, m, s, repo.git.size_of(s),
                                      ref_name, c.state.urls) for name, m, s in repo.git.entries(obj_sha)]
        return respond(items)
    blob = repo.git.get_blob(obj_sha)
    if blob is None:
        raise not_found()
    data = blob.as_raw_string()
    accept = request.headers.get("Accept", "")
    if "vnd.github.raw" in accept or "vnd.github.v3.raw" in accept:  # the file's bytes, as GitHub's raw media type
        return web.Response(body=data, headers={"Content-Type": "application/vnd.github.raw"})
    out = shapes.content_entry(repo, path, mode, obj_sha, len(data), ref_name, c.state.urls)
    inline = len(data) <= MAX_INLINE
    out |= {"content": shapes.b64_lines(data) if inline else "", "encoding": "base64" if inline else "none"}
    if mode == 0o120000:
        out["target"] = data.decode("utf-8", "replace")
    return respond(out)


async def put_content(request: web.Request) -> web.Response:
    """Create (201) or update (200) one file as one commit; updating needs the current blob `sha` (422 without
    it, 409 when it is not the file's current SHA)."""
    c = ctx(request)
    user = caller(request)
    repo = repository(request, "write")
    path = request.match_info["path"].strip("/")
    body = await read_json(request)
    message = typed(body, "message", str, required=True)
    content = typed(body, "content", str, required=True)
    expected = typed(body, "sha", str)
    branch = typed(body, "branch", str) or repo.default_branch
    try:
        split_path(path)
        data = base64.b64decode("".join(content.split()), validate=True)
    except BadPath:
        raise unprocessable(f"path {path!r} is not a valid file path") from None
    except (binascii.Error, ValueError):
        raise unprocessable("content is not valid Base64") from None
    committer = identity_from(body, "committer", default_identity(user))
    author = identity_from(body, "author", committer)
    ref = f"refs/heads/{branch}"
    if not valid_ref_name(ref):
        raise ApiError(404, f"Branch {branch} not found")
    head = repo.git.ref(ref)
    if head is None and not repo.git.is_empty():
        raise ApiError(404, f"Branch {branch} not found")
    base_tree = None
    existing = None
    if head is not None:
        head_commit = repo.git.get_commit(head)
        assert head_commit is not None
        base_tree = head_commit.tree.decode()
        existing = repo.git.lookup(base_tree, path)
    if existing is not None:
        if existing[0] == MODE_TREE:
            raise unprocessable(f"{path} is a directory")
        if expected is None:
            raise ApiError(422, 'Invalid request.\n\n"sha" wasn\'t supplied.')
        if expected != existing[1]:
            raise ApiError(409, f"{path} does not match {expected}")
    blob = repo.git.add_blob(data)
    tree = repo.git.build_tree(base_tree, [(path, (existing[0] if existing else MODE_FILE, blob))])
    check_workflow_scope(request, repo, base_tree, tree)
    sha = repo.git.add_commit(tree, [head] if head else [], message, author, committer)
    ok = repo.git.move_ref(ref, head, sha) if head else repo.git.create_ref(ref, sha)
    if not ok:
        raise ApiError(409, f"{path} does not match {expected or 'the branch head'}")  # the branch moved meanwhile
    moved(request, repo, ref, sha, head)
    commit = repo.git.get_commit(sha)
    assert commit is not None
    git_commit = shapes.git_commit(repo, commit, c.state.urls)
    entry = shapes.content_entry(repo, path, MODE_FILE, blob, len(data), branch, c.state.urls)
    return respond({"content": entry, "commit": git_commit}, 200 if existing else 201)


def users_by_email(state: State) -> dict[str, Account]:
    return {a.email.lower(): a for a in state.accounts.values()}


async def list_commits(request: web.Request) -> web.Response:
    c = ctx(request)
    repo = repository(request)
    if repo.git.is_empty():
        raise empty_repository()
    start = resolve_commit(repo, request.query.get("sha"))
    if start is None:
        raise not_found()
    per_page, page = page_params(request)
    skip = (page - 1) * per_page
    picked: list[Commit] = []
    has_next = False
    for i, commit in enumerate(repo.git.walk(start, request.query.get("path"))):
        if i < skip:
            continue
        if len(picked) == per_page:
            has_next = True
            break
        picked.append(commit)
    people = users_by_email(c.state)
    links = []
    if has_next:
        links.append(f'<{request.url.update_query(page=str(page + 1))}>; rel="next"')
    if page > 1:
        links.append(f'<{request.url.update_query(page=str(page - 1))}>; rel="prev"')
        links.append(f'<{request.url.update_query(page="1")}>; rel="first"')
    headers = {"Link": ", ".join(links)} if links else {}
    return respond([shapes.commit(repo, cm, c.state.urls, people) for cm in picked], headers=headers)


async def get_commit(request: web.Request) -> web.Response:
    c = ctx(request)
    repo = repository(request)
    if repo.git.is_empty():
        raise empty_repository()
    ref = request.match_info["ref"]
    sha = resolve_commit(repo, ref)
    if sha is None:
        raise ApiError(422, f"No commit found for SHA: {ref}")
    if "application/vnd.github.sha" in request.headers.get("Accept", ""):
        return web.Response(text=sha, headers={"Content-Type": "application/vnd.github.sha"})
    commit = repo.git.get_commit(sha)
    assert commit is not None
    out: dict[str, Any] = shapes.commit(repo, commit, c.state.urls, users_by_email(c.state))
    return respond(out)


ROUTES = [
    ("GET", "/repos/{owner}/{repo}/contents/{path}", get_content),
    ("PUT", "/repos/{owner}/{repo}/contents/{path}", put_content),
    ("GET", "/repos/{owner}/{repo}/commits", list_commits),
    ("GET", "/repos/{owner}/{repo}/commits/{ref}", get_commit),
]
