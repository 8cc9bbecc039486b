"""The Pages API: enable (201; 409 when already on; 422 when the source branch does not exist), read, update,
disable, the builds (list, latest, by id, request one) and the deployments `actions/deploy-pages` creates.

A `PUT` that changes the source or build type queues no build: the previous build stays served and
`builds/latest` keeps naming its commit until `POST /pages/builds` (SailorDave17/race-timer#175); in the ideal
world (`put_pages_queues_no_build` off) it builds the branch at once.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sandbox.github import pages, shapes
from sandbox.github.api import caller, ctx, no_content, read_json, repository, respond, typed
from sandbox.github.artifacts import ArtifactError, artifact_tree
from sandbox.github.errors import ApiError, invalid, not_found
from sandbox.github.pages_host import site_url
from sandbox.github.state import PagesSite, Repository


def _source(body: dict[str, Any], repo: Repository, required: bool) -> tuple[str, str] | None:
    source = typed(body, "source", dict)
    if source is None:
        if required:
            raise invalid("Page", "source", "missing_field")
        return None
    branch = typed(source, "branch", str, required=True)
    path = typed(source, "path", str) or "/"
    if path not in ("/", "/docs"):
        raise invalid("Page", "source.path", "invalid", 'source.path must be "/" or "/docs"')
    if repo.git.ref(f"refs/heads/{branch}") is None:
        raise ApiError(422, f"The {branch} branch must exist before GitHub Pages can be built.")
    return branch, path


def _build_type(body: dict[str, Any]) -> str | None:
    build_type = typed(body, "build_type", str)
    if build_type is not None and build_type not in ("legacy", "workflow"):
        raise invalid("Page", "build_type", "invalid", 'build_type must be "legacy" or "workflow"')
    return build_type


async def create_site(request: web.Request) -> web.Response:
    c = ctx(request)
    repo = repository(request, "write")
    if caller(request).type == "Bot":
        # A workflow's GITHUB_TOKEN cannot enable Pages: configure-pages' `enablement` "needs a token other than
        # GITHUB_TOKEN"; GitHub's words for what the token may not do (nchaulet/github-action-gh-pages#3).
        raise ApiError(403, "Resource not accessible by integration")
    body = await read_json(request)
    build_type = _build_type(body)
    if build_type is None and "source" not in body:
        raise ApiError(422, "Invalid request.\n\nEither source or build_type must be supplied.")
    if repo.pages is not None:
        raise ApiError(409, "GitHub Pages is already enabled.")
    source = _source(body, repo, required=build_type in (None, "legacy"))
    branch, path = source or (repo.default_branch, "/")
    repo.pages = PagesSite(build_type or "legacy", branch, path)
    if repo.pages.build_type == "legacy":
        head = repo.git.ref(f"refs/heads/{branch}")
        if head is not None:
            pages.start_build(c, repo, head, request.get("user"))
    return respond(shapes.page(repo, c.state.urls, site_url(c.state.urls, repo)), 201)


def _site(request: web.Request, need: str = "read") -> tuple[Repository, PagesSite]:
    repo = repository(request, "write" if need == "write" else "read")
    if repo.pages is None:
        raise not_found()
    return repo, repo.pages


async def get_site(request: web.Request) -> web.Response:
    repo, _ = _site(request)
    urls = ctx(request).state.urls
    return respond(shapes.page(repo, urls, site_url(urls, repo)))


async def update_site(request: web.Request) -> web.Response:
    c = ctx(request)
    repo, site = _site(request, "write")
    body = await read_json(request)
    build_type = _build_type(body)
    source = _source(body, repo, required=False)
    if build_type is None and source is None and not {"cname", "https_enforced"} & body.keys():
        raise ApiError(400, "Invalid request.\n\nAt least one of source, build_type, cname or https_enforced.")
    if build_type is not None:
        site.build_type = build_type
    if source is not None:
        site.branch, site.path = source
    changed = source is not None or build_type is not None
    if changed and site.build_type == "legacy" and not c.state.settings.put_pages_queues_no_build:
        head = repo.git.ref(f"refs/heads/{site.branch}")
        if head is not None:
            pages.start_build(c, repo, head, request.get("user"))
    return no_content()


async def delete_site(request: web.Request) -> web.Response:
    repo, _ = _site(request, "write")
    repo.pages = None
    return no_content()


async def list_builds(request: web.Request) -> web.Response:
    repo, site = _site(request)
    urls = ctx(request).state.urls
    return respond([shapes.page_build(repo, b, urls) for b in reversed(site.builds)])


async def latest_build(request: web.Request) -> web.Response:
    repo, site = _site(request)
    if not site.builds:
        raise not_found()
    return respond(shapes.page_build(repo, site.builds[-1], ctx(request).state.urls))


async def get_build(request: web.Request) -> web.Response:
    repo, site = _site(request)
    wanted = request.match_info["build_id"]
    for build in site.builds:
        if str(build.id) == wanted:
            return respond(shapes.page_build(repo, build, ctx(request).state.urls))
    raise not_found()


async def request_build(request: web.Request) -> web.Response:
    c = ctx(request)
    repo, site = _site(request, "write")
    head = repo.git.ref(f"refs/heads/{site.branch}") or ""
    pages.start_build(c, repo, head, request.get("user"))
    return respond({"url": f"{c.state.urls.api}/repos/{repo.full_name}/pages/builds/latest", "status": "queued"},
                   201)


async def create_deployment(request: web.Request) -> web.Response:
    """What `actions/deploy-pages` calls: publish an uploaded artifact (`/_sandbox/artifacts`) as the site."""
    c = ctx(request)
    repo, _ = _site(request, "write")
    body = await read_json(request)
    artifact_id = typed(body, "artifact_id", float)
    artifact_url = typed(body, "artifact_url", str)
    version = typed(body, "pages_build_version", str, required=True)
    typed(body, "oidc_token", str, required=True)  # required by GitHub; not verified here
    if artifact_id is None and artifact_url is None:
        raise ApiError(422, "Invalid request.\n\nEither artifact_id or artifact_url must be supplied.")
    wanted = str(int(artifact_id)) if artifact_id is not None else str(artifact_url).rstrip("/").rpartition("/")[2]
    artifact = c.state.artifacts.get(wanted)
    if artifact is None or artifact.repo is not repo:
        raise not_found()
    try:
        tree = artifact_tree(repo.git, artifact.data)
    except ArtifactError as exc:
        raise ApiError(400, f"The artifact could not be deployed: {exc}") from None
    deployment = pages.start_deployment(c, repo, version, tree)
    status_url = f"{c.state.urls.api}/repos/{repo.full_name}/pages/deployments/{deployment.id}"
    return respond({"id": deployment.id, "status_url": status_url, "page_url": site_url(c.state.urls, repo)})


async def get_deployment(request: web.Request) -> web.Response:
    _, site = _site(request)
    deployment = site.deployments.get(request.match_info["pages_deployment_id"])
    if deployment is None:
        raise not_found()
    return respond({"status": deployment.status})


ROUTES = [
    ("POST", "/repos/{owner}/{repo}/pages", create_site),
    ("GET", "/repos/{owner}/{repo}/pages", get_site),
    ("PUT", "/repos/{owner}/{repo}/pages", update_site),
    ("DELETE", "/repos/{owner}/{repo}/pages", delete_site),
    ("GET", "/repos/{owner}/{repo}/pages/builds", list_builds),
    ("POST", "/repos/{owner}/{repo}/pages/builds", request_build),
    ("GET", "/repos/{owner}/{repo}/pages/builds/latest", latest_build),
    ("GET", "/repos/{owner}/{repo}/pages/builds/{build_id}", get_build),
    ("POST", "/repos/{owner}/{repo}/pages/deployments", create_deployment),
    ("GET", "/repos/{owner}/{repo}/pages/deployments/{pages_deployment_id}", get_deployment),
]
