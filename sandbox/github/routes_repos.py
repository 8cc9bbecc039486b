"""Users, repositories and the rate limit: /user, /user/repos, /orgs/{org}/repos, /repos/{owner}/{repo}, /rate_limit."""

from __future__ import annotations

import re
import time
from typing import Any

from aiohttp import web

from sandbox.github import shapes
from sandbox.github.api import caller, ctx, no_content, read_json, repository, respond, typed
from sandbox.github.consistency import lag_seconds
from sandbox.github.errors import ApiError, invalid, not_found
from sandbox.github.state import Account, Repository, State, now_iso
from sandbox.github.store import MODE_FILE, GitRepo, Identity

GITHUB_COMMITTER = ("GitHub", "noreply@github.com")
_INVALID_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]")


def _creation_failed(message: str) -> ApiError:
    return ApiError(422, "Repository creation failed.",
                    errors=[{"resource": "Repository", "code": "custom", "field": "name", "message": message}])


def clean_name(name: str) -> str:
    """GitHub's rule: characters outside [A-Za-z0-9._-] become '-'; too long or reserved names are refused."""
    cleaned = _INVALID_NAME_CHARS.sub("-", name)
    if not cleaned:
        raise _creation_failed("name is too short (minimum is 1 character)")
    if len(cleaned) > 100:
        raise _creation_failed("name is too long (maximum is 100 characters)")
    if cleaned in (".", ".."):
        raise _creation_failed(f"name {cleaned} is reserved")
    return cleaned


def initial_commit(git: GitRepo, repo: Repository, author: Account) -> str:
    """What `auto_init` makes on GitHub: one 'Initial commit' adding README.md (name, description)."""
    readme = f"# {repo.name}\n" + (f"{repo.description}\n" if repo.description else "")
    tree = git.build_tree(None, [("README.md", (MODE_FILE, git.add_blob(readme.encode())))])
    now = int(time.time())
    sha = git.add_commit(tree, [], "Initial commit", Identity(author.login, author.email, now),
                         Identity(*GITHUB_COMMITTER, now))
    git.create_ref(f"refs/heads/{repo.default_branch}", sha)
    return sha


def create_repository(state: State, owner: Account, creator: Account, body: dict[str, Any]) -> Repository:
    raw_name = typed(body, "name", str, required=True)
    description = typed(body, "description", str, nullable=True)
    homepage = typed(body, "homepage", str, nullable=True)
    private = typed(body, "private", bool) or False
    visibility = typed(body, "visibility", str)
    if visibility is not None:
        if visibility not in ("public", "private", "internal"):
            raise invalid("Repository", "visibility")
        private = visibility != "public"
    auto_init = typed(body, "auto_init", bool) or False
    flags = {k: typed(body, k, bool) for k in ("has_issues", "has_projects", "has_wiki")}
    name = clean_name(raw_name)
    if state.repo(owner.login, name) is not None:
        raise _creation_failed("name already exists on this account")
    path = state.repo_path(owner.login, name)
    git = GitRepo.create(path, "main")
    repo = Repository(owner=owner, name=name, git=git, private=private, description=description, homepage=homepage,
                      **{k: v for k, v in flags.items() if v is not None})
    if auto_init:
        initial_commit(git, repo, creator)
    repo.ready_at = time.monotonic() + lag_seconds(state.settings.creation_lag, state.settings.lag_seed,
                                                   repo.full_name)
    state.repos[repo.key] = repo
    return repo


def _created(request: web.Request, repo: Repository) -> web.Response:
    c = ctx(request)
    data = shapes.full_repository(repo, c.state.urls, "admin")
    return respond(data, 201, {"Location": data["url"]})


def a_user(request: web.Request) -> Account:
    """The caller, when it is a user: a workflow's GITHUB_TOKEN is not one, and may not act as one."""
    user = caller(request)
    if user.type == "Bot":
        raise ApiError(403, "Resource not accessible by integration")
    return user


async def get_user(request: web.Request) -> web.Response:
    c = ctx(request)
    user = a_user(request)
    mine = [r for r in c.state.repos.values() if r.owner is user]
    return respond(shapes.private_user(user, c.state.urls, sum(not r.private for r in mine),
                                       sum(r.private for r in mine)))


async def create_for_user(request: web.Request) -> web.Response:
    user = a_user(request)
    body = await read_json(request)
    return _created(request, create_repository(ctx(request).state, user, user, body))


async def create_in_org(request: web.Request) -> web.Response:
    """Members of an --org may create its repositories; others get 404 (an org they cannot see) or 403."""
    user = caller(request)
    state = ctx(request).state
    org = state.accounts.get(request.match_info["org"].lower())
    if org is None or org.type != "Organization":
        raise not_found()
    if user.login.lower() not in org.members:
        raise ApiError(403, "You need admin access to the organization before adding a repository to it.")
    body = await read_json(request)
    return _created(request, create_repository(state, org, user, body))


async def get_repo(request: web.Request) -> web.Response:
    c = ctx(request)
    repo = repository(request)
    return respond(shapes.full_repository(repo, c.state.urls, c.state.permission(request.get("user"), repo)))


async def update_repo(request: web.Request) -> web.Response:
    c = ctx(request)
    repo = repository(request, "admin")
    body = await read_json(request)
    new_name = typed(body, "name", str)
    changes: dict[str, Any] = {}
    for key in ("description", "homepage"):
        if key in body:
            changes[key] = typed(body, key, str, nullable=True)
    for key in ("private", "has_issues", "has_projects", "has_wiki"):
        if key in body:
            changes[key] = typed(body, key, bool)
    visibility = typed(body, "visibility", str)
    if visibility is not None:
        if visibility not in ("public", "private", "internal"):
            raise invalid("Repository", "visibility")
        changes["private"] = visibility != "public"
    branch = typed(body, "default_branch", str)
    if branch is not None and branch != repo.default_branch:
        if repo.git.ref(f"refs/heads/{branch}") is None:
            raise invalid("Repository", "default_branch", "invalid", f"Cannot update default branch for this "
                          f"repository to '{branch}'. The branch does not exist.")
        changes["default_branch"] = branch
    if new_name is not None and new_name != repo.name:
        name = clean_name(new_name)
        other = c.state.repo(repo.owner.login, name)
        if other is not None and other is not repo:
            raise _creation_failed("name already exists on this account")
        _rename(c.state, repo, name)
    for key, value in changes.items():
        setattr(repo, key, value)
    if "default_branch" in changes:
        repo.git.set_head(repo.default_branch)
    repo.updated_at = now_iso()
    return respond(shapes.full_repository(repo, c.state.urls, "admin"))


def _rename(state: State, repo: Repository, name: str) -> None:
    del state.repos[repo.key]
    old_path = repo.git.path
    repo.git.close()
    new_path = state.repo_path(repo.owner.login, name)
    old_path.rename(new_path)
    repo.git = GitRepo(new_path)
    repo.name = name
    state.repos[repo.key] = repo


async def delete_repo(request: web.Request) -> web.Response:
    state = ctx(request).state
    repo = repository(request, "admin")
    del state.repos[repo.key]
    repo.pages = None
    repo.git.destroy()
    return no_content()


async def rate_limit(request: web.Request) -> web.Response:
    c = ctx(request)
    user = request.get("user")
    b = c.limits.budget(user.login if user else None)
    core = {"limit": b.limit, "used": b.used, "remaining": max(b.limit - b.used, 0), "reset": b.reset}
    other = {"limit": 30, "used": 0, "remaining": 30, "reset": int(time.time()) + 60}
    return respond({"resources": {"core": core, "search": other, "graphql": dict(core)}, "rate": core})


ROUTES = [
    ("GET", "/user", get_user),
    ("POST", "/user/repos", create_for_user),
    ("POST", "/orgs/{org}/repos", create_in_org),
    ("GET", "/repos/{owner}/{repo}", get_repo),
    ("PATCH", "/repos/{owner}/{repo}", update_repo),
    ("DELETE", "/repos/{owner}/{repo}", delete_repo),
    ("GET", "/rate_limit", rate_limit),
]
