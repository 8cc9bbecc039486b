"""The Git Data API: blobs, trees, commits and refs on the repository's real git objects.

GitHub refuses Git Data writes in an empty repository (no branch yet) with 409 "Git Repository is empty.";
create-ref needs a `refs/...` name with two slashes (else 422 "Reference update failed", GitHub's message for a
name it refuses, also when it clashes with an existing ref such as `a` vs `a/b`); update-ref refuses a
non-fast-forward unless `force`. A tree request body over `tree_size_limit` bytes times out inside GitHub, and
a token without the `workflow` scope may not change `.github/workflows/` (see `check_workflow_scope`).
A ref moves only with a compare-and-swap, after every object it points at is stored.
"""

from __future__ import annotations

import base64
import binascii
import time
from datetime import datetime
from typing import Any

from aiohttp import web

from sandbox.github import pages, shapes
from sandbox.github.api import caller, ctx, read_json, repository, respond, typed
from sandbox.github.errors import ApiError, empty_repository, not_found, unprocessable
from sandbox.github.state import Account, Repository, now_iso
from sandbox.github.store import MODES, TYPE_OF_MODE, BadPath, Identity, valid_ref_name

WORKFLOWS_DIR = ".github/workflows"


def writable(request: web.Request) -> Repository:
    repo = repository(request, "write")
    if repo.git.is_empty():
        raise empty_repository()
    return repo


def readable(request: web.Request) -> Repository:
    repo = repository(request)
    if repo.git.is_empty():
        raise empty_repository()
    return repo


def decode_content(content: str, encoding: str) -> bytes:
    if encoding in ("utf-8", "utf8"):
        return content.encode()
    if encoding == "base64":
        try:
            return base64.b64decode("".join(content.split()), validate=True)
        except (binascii.Error, ValueError):
            raise unprocessable("content is not valid Base64") from None
    raise unprocessable(f"encoding must be 'utf-8' or 'base64', not {encoding!r}")


async def create_blob(request: web.Request) -> web.Response:
    c = ctx(request)
    repo = writable(request)
    body = await read_json(request)
    content = typed(body, "content", str, required=True)
    encoding = typed(body, "encoding", str) or "utf-8"
    sha = repo.git.add_blob(decode_content(content, encoding))
    url = f"{c.state.urls.api}/repos/{repo.full_name}/git/blobs/{sha}"
    return respond({"url": url, "sha": sha}, 201, {"Location": url})


async def get_blob(request: web.Request) -> web.Response:
    c = ctx(request)
    repo = readable(request)
    sha = request.match_info["file_sha"]
    blob = repo.git.get_blob(sha)
    if blob is None:
        raise not_found()
    data = blob.as_raw_string()
    return respond({"sha": sha, "node_id": shapes.node_id("B", sha), "size": len(data),
                    "url": f"{c.state.urls.api}/repos/{repo.full_name}/git/blobs/{sha}",
                    "content": shapes.b64_lines(data), "encoding": "base64"})


def _tree_change(repo: Repository, entry: Any, index: int) -> tuple[str, tuple[int, str] | None]:
    if not isinstance(entry, dict):
        raise unprocessable(f"Invalid request.\n\nFor 'items', {str(entry)[:60]} is not an object.")
    path = typed(entry, "path", str, required=True)
    mode_text = typed(entry, "mode", str, required=True)
    kind = typed(entry, "type", str)
    mode = MODES.get(mode_text)
    if mode is None:
        raise unprocessable(f"tree.mode {mode_text!r} is not one of 100644, 100755, 040000, 160000, 120000")
    if kind is not None and kind != TYPE_OF_MODE[mode]:
        raise unprocessable(f"tree.type {kind!r} does not match mode {mode_text}")
    has_sha, has_content = "sha" in entry, "content" in entry
    if has_sha == has_content:
        raise unprocessable(f"tree[{index}]: give either tree.sha or tree.content")
    if has_content:
        content = typed(entry, "content", str)
        if TYPE_OF_MODE[mode] != "blob":
            raise unprocessable(f"tree[{index}]: content is only for blobs")
        return path, (mode, repo.git.add_blob(content.encode()))
    sha = typed(entry, "sha", str, nullable=True)
    if sha is None:
        return path, None
    obj = repo.git.get(sha)
    wanted = TYPE_OF_MODE[mode]
    if wanted != "commit" and (obj is None or obj.type_name.decode() != wanted):
        raise unprocessable(f"tree.sha {sha} is not a valid {wanted}")
    return path, (mode, sha)


# GitHub's words when a tree is too large to build in one request (qoomon/actions--create-commit#90); the same
# body answers the same every time.
TREE_TOO_LARGE = ("Sorry, your request timed out.  It's likely that your input was too large to process.  Consider "
                  "building the tree incrementally, or building the commits you need in a local clone of the "
                  "repository and then pushing them to GitHub.")


async def create_tree(request: web.Request) -> web.Response:
    c = ctx(request)
    repo = writable(request)
    limit = c.state.settings.tree_size_limit
    if limit and len(await request.read()) > limit:
        raise unprocessable(TREE_TOO_LARGE)
    body = await read_json(request)
    entries = typed(body, "tree", list, required=True)
    base_tree = typed(body, "base_tree", str)
    if base_tree is not None and repo.git.get_tree(base_tree) is None:
        # A commit SHA is refused too: GitHub stopped resolving commits to their tree here in 2014.
        raise unprocessable("base_tree is not a valid tree oid")
    changes = [_tree_change(repo, e, i) for i, e in enumerate(entries)]
    try:
        sha = repo.git.build_tree(base_tree, changes)
    except BadPath as exc:
        raise unprocessable(f"tree.path {str(exc)!r} contains a malformed path component") from None
    check_workflow_scope(request, repo, base_tree, sha)
    data = shapes.git_tree(repo, repo.git, sha, c.state.urls, recursive=False)
    return respond(data, 201, {"Location": data["url"]})


def resolve_tree(repo: Repository, ref: str) -> str | None:
    """A tree SHA from a tree SHA, a commit SHA or a branch/tag name (what get-tree accepts)."""
    sha = ref
    for name in (f"refs/heads/{ref}", f"refs/tags/{ref}"):
        if found := repo.git.ref(name):
            sha = found
            break
    obj = repo.git.get(sha)
    if obj is not None and obj.type_name == b"commit":
        return obj.tree.decode()  # type: ignore[attr-defined]
    return sha if obj is not None and obj.type_name == b"tree" else None


async def get_tree(request: web.Request) -> web.Response:
    c = ctx(request)
    repo = readable(request)
    sha = resolve_tree(repo, request.match_info["tree_sha"])
    if sha is None:
        raise not_found()
    return respond(shapes.git_tree(repo, repo.git, sha, c.state.urls, recursive="recursive" in request.query))


def identity_from(body: dict[str, Any], name: str, fallback: Identity) -> Identity:
    person = typed(body, name, dict)
    if person is None:
        return fallback
    who = typed(person, "name", str, required=True)
    email = typed(person, "email", str, required=True)
    date = typed(person, "date", str)
    if date is None:
        return Identity(who, email, fallback.time)
    try:
        parsed = datetime.fromisoformat(date.replace("Z", "+00:00"))
    except ValueError:
        raise unprocessable(f"Invalid request.\n\n{date!r} is not a valid date-time for {name}.date.") from None
    offset = parsed.utcoffset()
    return Identity(who, email, int(parsed.timestamp()), int(offset.total_seconds()) if offset else 0)


def default_identity(user: Account) -> Identity:
    return Identity(user.login, user.email, int(time.time()))


async def create_commit(request: web.Request) -> web.Response:
    c = ctx(request)
    user = caller(request)
    repo = writable(request)
    body = await read_json(request)
    message = typed(body, "message", str, required=True)
    tree = typed(body, "tree", str, required=True)
    parents = typed(body, "parents", list) or []
    if repo.git.get_tree(tree) is None:
        raise unprocessable("Tree SHA does not exist")
    for parent in parents:
        if not isinstance(parent, str) or repo.git.get_commit(parent) is None:
            raise unprocessable("Parent SHA does not exist or is not a commit object")
    check_workflow_scope(request, repo, repo.git.tree_of(parents[0]) if parents else None, tree)
    author = identity_from(body, "author", default_identity(user))
    committer = identity_from(body, "committer", author)
    sha = repo.git.add_commit(tree, parents, message, author, committer)
    commit = repo.git.get_commit(sha)
    assert commit is not None
    data = shapes.git_commit(repo, commit, c.state.urls)
    return respond(data, 201, {"Location": data["url"]})


async def get_git_commit(request: web.Request) -> web.Response:
    c = ctx(request)
    repo = readable(request)
    commit = repo.git.get_commit(request.match_info["commit_sha"])
    if commit is None:
        raise not_found()
    return respond(shapes.git_commit(repo, commit, c.state.urls))


def _ref_body(request: web.Request, repo: Repository, ref: str, sha: str) -> dict[str, Any]:
    obj = repo.git.get(sha)
    kind = obj.type_name.decode() if obj is not None else "commit"
    return shapes.git_ref(repo, ref, sha, kind, ctx(request).state.urls)


async def get_ref(request: web.Request) -> web.Response:
    repo = readable(request)
    ref = "refs/" + request.match_info["ref"].removeprefix("refs/")
    sha = repo.git.ref(ref)
    if sha is None:
        raise not_found()
    return respond(_ref_body(request, repo, ref, sha))


def check_workflow_scope(request: web.Request, repo: Repository, old_tree: str | None, new_tree: str | None) -> None:
    """A token without the `workflow` scope (a classic token lacking it, or a workflow's GITHUB_TOKEN, which
    cannot have it) may not create or change `.github/workflows/` files. GitHub answers a bare 404 at create-tree,
    create-commit, the ref update or contents PUT (wadackel/files-sync-action#201, octokit/rest.js#368,
    octokit/octokit.rb#1184); in the ideal world, a 403 with the words a `git push` shows."""
    user = caller(request)
    scopes = {s.strip() for s in ctx(request).state.scopes.split(",")} if user.type != "Bot" else set()
    if "workflow" in scopes:
        return
    path = repo.git.changed_under(old_tree, new_tree, WORKFLOWS_DIR)
    if path is None:
        return
    if ctx(request).state.settings.scope_errors_as_404:
        raise not_found()
    who = "a GitHub App" if user.type == "Bot" else "a Personal Access Token"
    needs = "`workflows` permission" if user.type == "Bot" else "`workflow` scope"
    raise ApiError(403, f"refusing to allow {who} to create or update workflow `{path}` without {needs}")


def moved(request: web.Request, repo: Repository, ref: str, sha: str, before: str | None = None) -> None:
    """After a ref moved: note the push (`/_sandbox/pushes`, the local runner's `push` events), start a Pages
    build when it is the source branch."""
    repo.pushed_at = now_iso()
    c = ctx(request)
    user = request.get("user")
    commit = repo.git.get_commit(sha)
    workflows = commit is not None and repo.git.lookup(commit.tree.decode(), WORKFLOWS_DIR) is not None
    # "events triggered by the GITHUB_TOKEN ... will not create a new workflow run" (docs.github.com, GITHUB_TOKEN)
    silent = user is not None and user.type == "Bot" and c.state.settings.job_token_pushes_are_silent
    c.state.pushes.append({
        "owner": repo.owner.login, "repo": repo.name, "ref": ref, "before": before or "0" * 40, "after": sha,
        "sender": user.login if user is not None else None, "received_at": now_iso(), "has_workflows": workflows,
        "starts_workflows": not silent,
    })
    pages.on_push(c, repo, ref, sha, user)


async def create_ref(request: web.Request) -> web.Response:
    repo = writable(request)
    body = await read_json(request)
    ref = typed(body, "ref", str, required=True)
    sha = typed(body, "sha", str, required=True)
    if not valid_ref_name(ref):
        raise unprocessable("Reference update failed")  # GitHub's words for a name it refuses
    if repo.git.get(sha) is None:
        raise unprocessable("Object does not exist")
    if repo.git.ref(ref) is not None:
        raise unprocessable("Reference already exists")
    default_head = repo.git.ref(f"refs/heads/{repo.default_branch}")
    check_workflow_scope(request, repo, repo.git.tree_of(default_head), repo.git.tree_of(sha))
    if not repo.git.create_ref(ref, sha):
        raise unprocessable("Reference update failed")
    moved(request, repo, ref, sha)
    data = _ref_body(request, repo, ref, sha)
    return respond(data, 201, {"Location": data["url"]})


async def update_ref(request: web.Request) -> web.Response:
    repo = writable(request)
    ref = "refs/" + request.match_info["ref"].removeprefix("refs/")
    body = await read_json(request)
    sha = typed(body, "sha", str, required=True)
    force = typed(body, "force", bool) or False
    old = repo.git.ref(ref)
    if old is None:
        raise unprocessable("Reference does not exist")
    new = repo.git.get(sha)
    if new is None:
        raise unprocessable("Object does not exist")
    if not force and old != sha and (new.type_name != b"commit" or not repo.git.is_ancestor(old, sha)):
        raise unprocessable("Update is not a fast forward")
    if old != sha:
        check_workflow_scope(request, repo, repo.git.tree_of(old), repo.git.tree_of(sha))
        if not repo.git.move_ref(ref, old, sha):
            raise unprocessable("Reference cannot be updated")  # it moved meanwhile (GitHub's 422 words)
        moved(request, repo, ref, sha, old)
    return respond(_ref_body(request, repo, ref, sha))


ROUTES = [
    ("POST", "/repos/{owner}/{repo}/git/blobs", create_blob),
    ("GET", "/repos/{owner}/{repo}/git/blobs/{file_sha}", get_blob),
    ("POST", "/repos/{owner}/{repo}/git/trees", create_tree),
    ("GET", "/repos/{owner}/{repo}/git/trees/{tree_sha}", get_tree),
    ("POST", "/repos/{owner}/{repo}/git/commits", create_commit),
    ("GET", "/repos/{owner}/{repo}/git/commits/{commit_sha}", get_git_commit),
    ("GET", "/repos/{owner}/{repo}/git/ref/{ref}", get_ref),
    ("POST", "/repos/{owner}/{repo}/git/refs", create_ref),
    ("PATCH", "/repos/{owner}/{repo}/git/refs/{ref}", update_ref),
]
