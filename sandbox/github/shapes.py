"""JSON bodies in the shapes of GitHub's schemas (`simple-user`, `full-repository`, `git-commit`, ...).

Pure functions of state and git objects: no I/O beyond reading objects, so every handler answers alike.
"""

from __future__ import annotations

import base64
import stat
from typing import Any

from dulwich.objects import Commit

from sandbox.github.state import Account, CommitStatus, PageBuild, Repository, Urls, WorkflowRun, now_iso
from sandbox.github.store import TYPE_OF_MODE, GitRepo, mode_str


def node_id(kind: str, ident: object) -> str:
    return base64.b64encode(f"{kind}:{ident}".encode()).decode().rstrip("=")


def simple_user(u: Account, urls: Urls) -> dict[str, Any]:
    api = f"{urls.api}/users/{u.login}"
    return {
        "login": u.login, "id": u.id, "node_id": node_id("U", u.id),
        "avatar_url": f"{urls.server}/{u.login}.png", "gravatar_id": "",
        "url": api, "html_url": f"{urls.server}/{u.login}",
        "followers_url": f"{api}/followers", "following_url": f"{api}/following{{/other_user}}",
        "gists_url": f"{api}/gists{{/gist_id}}", "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/subscriptions", "organizations_url": f"{api}/orgs",
        "repos_url": f"{api}/repos", "events_url": f"{api}/events{{/privacy}}",
        "received_events_url": f"{api}/received_events", "type": u.type, "user_view_type": "public",
        "site_admin": False,
    }


def private_user(u: Account, urls: Urls, public_repos: int, private_repos: int) -> dict[str, Any]:
    return simple_user(u, urls) | {
        "name": u.login, "company": None, "blog": "", "location": None, "email": None,
        "hireable": None, "bio": None, "twitter_username": None, "notification_email": None,
        "public_repos": public_repos, "public_gists": 0, "followers": 0, "following": 0,
        "created_at": u.created_at, "updated_at": u.created_at, "private_gists": 0,
        "total_private_repos": private_repos, "owned_private_repos": private_repos, "disk_usage": 0,
        "collaborators": 0, "two_factor_authentication": False,
        "plan": {"name": "free", "space": 976562499, "collaborators": 0, "private_repos": 10000},
    }


def full_repository(r: Repository, urls: Urls, permission: str | None) -> dict[str, Any]:
    api = f"{urls.api}/repos/{r.full_name}"
    html = f"{urls.server}/{r.full_name}"
    host = urls.server.split("://", 1)[-1]
    admin = permission == "admin"
    out: dict[str, Any] = {
        "id": r.id, "node_id": node_id("R", r.id), "name": r.name, "full_name": r.full_name,
        "private": r.private, "owner": simple_user(r.owner, urls), "html_url": html,
        "description": r.description, "fork": False, "url": api,
        "archive_url": f"{api}/{{archive_format}}{{/ref}}", "assignees_url": f"{api}/assignees{{/user}}",
        "blobs_url": f"{api}/git/blobs{{/sha}}", "branches_url": f"{api}/branches{{/branch}}",
        "collaborators_url": f"{api}/collaborators{{/collaborator}}", "comments_url": f"{api}/comments{{/number}}",
        "commits_url": f"{api}/commits{{/sha}}", "compare_url": f"{api}/compare/{{base}}...{{head}}",
        "contents_url": f"{api}/contents/{{+path}}", "contributors_url": f"{api}/contributors",
        "deployments_url": f"{api}/deployments", "downloads_url": f"{api}/downloads", "events_url": f"{api}/events",
        "forks_url": f"{api}/forks", "git_commits_url": f"{api}/git/commits{{/sha}}",
        "git_refs_url": f"{api}/git/refs{{/sha}}", "git_tags_url": f"{api}/git/tags{{/sha}}",
        "git_url": f"git://{host}/{r.full_name}.git", "issue_comment_url": f"{api}/issues/comments{{/number}}",
        "issue_events_url": f"{api}/issues/events{{/number}}", "issues_url": f"{api}/issues{{/number}}",
        "keys_url": f"{api}/keys{{/key_id}}", "labels_url": f"{api}/labels{{/name}}",
        "languages_url": f"{api}/languages", "merges_url": f"{api}/merges",
        "milestones_url": f"{api}/milestones{{/number}}",
        "notifications_url": f"{api}/notifications{{?since,all,participating}}",
        "pulls_url": f"{api}/pulls{{/number}}", "releases_url": f"{api}/releases{{/id}}",
        "ssh_url": f"git@{host}:{r.full_name}.git", "stargazers_url": f"{api}/stargazers",
        "statuses_url": f"{api}/statuses/{{sha}}", "subscribers_url": f"{api}/subscribers",
        "subscription_url": f"{api}/subscription", "tags_url": f"{api}/tags", "teams_url": f"{api}/teams",
        "trees_url": f"{api}/git/trees{{/sha}}", "clone_url": f"{html}.git", "mirror_url": None,
        "hooks_url": f"{api}/hooks", "svn_url": html, "homepage": r.homepage, "language": None,
        "forks_count": 0, "stargazers_count": 0, "watchers_count": 0, "size": 0,
        "default_branch": r.default_branch, "open_issues_count": 0, "is_template": False, "topics": [],
        "has_issues": r.has_issues, "has_projects": r.has_projects, "has_wiki": r.has_wiki,
        "has_pages": r.pages is not None, "has_downloads": True, "has_discussions": False, "archived": False,
        "disabled": False, "visibility": "private" if r.private else "public", "pushed_at": r.pushed_at,
        "created_at": r.created_at, "updated_at": r.updated_at,
        "allow_forking": True, "web_commit_signoff_required": False, "license": None,
        "forks": 0, "open_issues": 0, "watchers": 0, "network_count": 0, "subscribers_count": 1,
    }
    if permission is not None:
        out["permissions"] = {"admin": admin, "maintain": admin, "push": admin, "triage": admin, "pull": True}
    if r.owner.type == "Organization":
        out["organization"] = simple_user(r.owner, urls)
    return out


def _person(raw: bytes) -> tuple[str, str]:
    text = raw.decode("utf-8", "replace")
    name, _, rest = text.partition(" <")
    return name, rest.rstrip(">")


VERIFICATION = {"verified": False, "reason": "unsigned", "signature": None, "payload": None, "verified_at": None}


def git_commit(r: Repository, c: Commit, urls: Urls) -> dict[str, Any]:
    """GitHub reports git dates in UTC (`Z`), whatever the commit's own offset."""
    api = f"{urls.api}/repos/{r.full_name}"
    sha = c.id.decode()
    an, ae = _person(c.author)
    cn, ce = _person(c.committer)
    return {
        "sha": sha, "node_id": node_id("C", sha), "url": f"{api}/git/commits/{sha}",
        "html_url": f"{urls.server}/{r.full_name}/commit/{sha}",
        "author": {"name": an, "email": ae, "date": now_iso(c.author_time)},
        "committer": {"name": cn, "email": ce, "date": now_iso(c.commit_time)},
        "tree": {"sha": c.tree.decode(), "url": f"{api}/git/trees/{c.tree.decode()}"},
        "message": c.message.decode("utf-8", "replace"),
        "parents": [
            {"sha": p.decode(), "url": f"{api}/git/commits/{p.decode()}",
             "html_url": f"{urls.server}/{r.full_name}/commit/{p.decode()}"} for p in c.parents
        ],
        "verification": dict(VERIFICATION),
    }


def commit(r: Repository, c: Commit, urls: Urls, users_by_email: dict[str, Account]) -> dict[str, Any]:
    """The `commit` schema of the Commits API: the git commit nested, GitHub users resolved by e-mail."""
    api = f"{urls.api}/repos/{r.full_name}"
    sha = c.id.decode()
    inner = git_commit(r, c, urls)
    author = users_by_email.get(inner["author"]["email"].lower())
    committer = users_by_email.get(inner["committer"]["email"].lower())
    return {
        "sha": sha, "node_id": node_id("C", sha), "url": f"{api}/commits/{sha}",
        "html_url": f"{urls.server}/{r.full_name}/commit/{sha}", "comments_url": f"{api}/commits/{sha}/comments",
        "commit": {
            "url": inner["url"], "author": inner["author"], "committer": inner["committer"],
            "message": inner["message"], "comment_count": 0, "tree": inner["tree"],
            "verification": inner["verification"],
        },
        "author": simple_user(author, urls) if author else None,
        "committer": simple_user(committer, urls) if committer else None,
        "parents": [{"sha": p["sha"], "url": f"{api}/commits/{p['sha']}", "html_url": p["html_url"]}
                    for p in inner["parents"]],
    }


def git_tree(r: Repository, git: GitRepo, sha: str, urls: Urls, recursive: bool) -> dict[str, Any]:
    api = f"{urls.api}/repos/{r.full_name}"
    entries = []
    for path, mode, esha in git.entries(sha, recursive):
        kind = TYPE_OF_MODE.get(mode, "blob")
        entry: dict[str, Any] = {"path": path, "mode": mode_str(mode), "type": kind, "sha": esha}
        if kind == "blob":
            entry["size"] = git.size_of(esha)
            entry["url"] = f"{api}/git/blobs/{esha}"
        elif kind == "tree":
            entry["url"] = f"{api}/git/trees/{esha}"
        entries.append(entry)
    return {"sha": sha, "url": f"{api}/git/trees/{sha}", "tree": entries, "truncated": False}


def git_ref(r: Repository, ref: str, sha: str, kind: str, urls: Urls) -> dict[str, Any]:
    api = f"{urls.api}/repos/{r.full_name}"
    return {
        "ref": ref, "node_id": node_id("REF", f"{r.id}:{ref}"), "url": f"{api}/git/{ref}",
        "object": {"sha": sha, "type": kind, "url": f"{api}/git/{kind}s/{sha}"},
    }


def b64_lines(data: bytes) -> str:
    """GitHub wraps base64 content at 60 characters per line, each line ending in a newline."""
    text = base64.b64encode(data).decode()
    return "".join(text[i:i + 60] + "\n" for i in range(0, len(text), 60))


def content_entry(r: Repository, path: str, mode: int, sha: str, size: int, ref: str, urls: Urls) -> dict[str, Any]:
    api = f"{urls.api}/repos/{r.full_name}"
    is_dir = stat.S_ISDIR(mode)
    kind = "dir" if is_dir else "submodule" if mode == 0o160000 else "symlink" if mode == 0o120000 else "file"
    self_url = f"{api}/contents/{path}?ref={ref}"
    git_url = f"{api}/git/{'trees' if is_dir else 'blobs'}/{sha}"
    html_url = f"{urls.server}/{r.full_name}/{'tree' if is_dir else 'blob'}/{ref}/{path}"
    raw = None if is_dir else f"{urls.server}/{r.full_name}/raw/{ref}/{path}"
    return {
        "type": kind, "name": path.rsplit("/", 1)[-1], "path": path, "sha": sha, "size": 0 if is_dir else size,
        "url": self_url, "git_url": git_url, "html_url": html_url, "download_url": raw,
        "_links": {"self": self_url, "git": git_url, "html": html_url},
    }


def page(r: Repository, urls: Urls, html_url: str) -> dict[str, Any]:
    site = r.pages
    assert site is not None
    out: dict[str, Any] = {
        "url": f"{urls.api}/repos/{r.full_name}/pages", "status": site.status, "cname": None,
        "custom_404": False, "html_url": html_url,
        "build_type": site.build_type, "source": {"branch": site.branch, "path": site.path}, "public": True,
        "protected_domain_state": None, "pending_domain_unverified_at": None, "https_enforced": False,
    }
    return out


def page_build(r: Repository, b: PageBuild, urls: Urls) -> dict[str, Any]:
    return {
        "url": f"{urls.api}/repos/{r.full_name}/pages/builds/{b.id}", "status": b.status,
        "error": {"message": b.error}, "pusher": simple_user(b.pusher, urls) if b.pusher else None,
        "commit": b.commit, "duration": b.duration, "created_at": now_iso(b.created),
        "updated_at": now_iso(b.updated),
    }


def minimal_repository(r: Repository, urls: Urls) -> dict[str, Any]:
    full = full_repository(r, urls, None)
    keep = ("network_count", "subscribers_count", "organization", "license")
    return {k: v for k, v in full.items() if k not in keep}


def workflow_run(run: WorkflowRun, urls: Urls) -> dict[str, Any]:
    r = run.repo
    api = f"{urls.api}/repos/{r.full_name}/actions/runs/{run.id}"
    d = run.data
    head_sha = d.get("head_sha") or ""
    repo = minimal_repository(r, urls)
    return {
        "id": run.id, "name": d.get("name"), "node_id": node_id("WFR", run.id), "check_suite_id": run.id,
        "check_suite_node_id": node_id("CS", run.id), "head_branch": d.get("head_branch"), "head_sha": head_sha,
        "path": d.get("path") or ".github/workflows/deploy.yml", "display_title": d.get("display_title")
        or d.get("name") or d.get("event") or "run",
        "run_number": d.get("run_number", run.id), "run_attempt": 1, "event": d.get("event") or "repository_dispatch",
        "status": d.get("status", "queued"), "conclusion": d.get("conclusion"), "workflow_id": d.get("workflow_id", 1),
        "url": api, "html_url": f"{urls.server}/{r.full_name}/actions/runs/{run.id}", "pull_requests": [],
        "created_at": now_iso(run.created), "updated_at": now_iso(run.updated), "run_started_at": now_iso(run.created),
        "jobs_url": f"{api}/jobs", "logs_url": f"{api}/logs", "check_suite_url": f"{urls.api}/repos/{r.full_name}"
        f"/check-suites/{run.id}", "artifacts_url": f"{api}/artifacts", "cancel_url": f"{api}/cancel",
        "rerun_url": f"{api}/rerun", "previous_attempt_url": None,
        "workflow_url": f"{urls.api}/repos/{r.full_name}/actions/workflows/{d.get('workflow_id', 1)}",
        "head_commit": None, "repository": repo, "head_repository": repo,
        "referenced_workflows": [],
    }


def status(r: Repository, st: CommitStatus, urls: Urls) -> dict[str, Any]:
    """The `status` schema (what create-commit-status and list-commit-statuses-for-ref answer)."""
    return simple_status(r, st, urls) | {"creator": simple_user(st.creator, urls)}


def simple_status(r: Repository, st: CommitStatus, urls: Urls) -> dict[str, Any]:
    return {
        "url": f"{urls.api}/repos/{r.full_name}/statuses/{st.sha}",
        "avatar_url": f"{urls.server}/{st.creator.login}.png",
        "id": st.id, "node_id": node_id("SC", st.id), "state": st.state, "description": st.description,
        "target_url": st.target_url, "context": st.context, "created_at": now_iso(st.created),
        "updated_at": now_iso(st.created),
    }


def job(run: WorkflowRun, index: int, data: dict[str, Any], urls: Urls) -> dict[str, Any]:
    """The `job` schema; a job's id is also its check run's id, as on GitHub."""
    r = run.repo
    job_id = job_id_of(run, index)
    api = f"{urls.api}/repos/{r.full_name}"
    steps = [{"name": s["name"], "status": "completed", "conclusion": s.get("conclusion"), "number": n,
              "started_at": now_iso(run.created), "completed_at": now_iso(run.updated)}
             for n, s in enumerate(data.get("steps") or [], 1)]
    status_ = data.get("status") or ("completed" if data.get("conclusion") else "in_progress")
    return {
        "id": job_id, "run_id": run.id, "run_url": f"{api}/actions/runs/{run.id}", "run_attempt": 1,
        "node_id": node_id("CR", job_id), "head_sha": run.data.get("head_sha") or "",
        "url": f"{api}/actions/jobs/{job_id}",
        "html_url": f"{urls.server}/{r.full_name}/actions/runs/{run.id}/job/{job_id}", "status": status_,
        "conclusion": data.get("conclusion"), "created_at": now_iso(run.created), "started_at": now_iso(run.created),
        "completed_at": now_iso(run.updated) if status_ == "completed" else None, "name": data["name"],
        "steps": steps, "check_run_url": f"{api}/check-runs/{job_id}", "labels": ["ubuntu-latest"],
        "runner_id": 1, "runner_name": "sandbox", "runner_group_id": 1, "runner_group_name": "sandbox",
        "workflow_name": run.data.get("name"), "head_branch": run.data.get("head_branch"),
    }


def job_id_of(run: WorkflowRun, index: int) -> int:
    """A job's id (also its check run's): the run's id and the job's place, so one can be read from the other."""
    return run.id * 1000 + index + 1


def job_of_check_run(check_run_id: int) -> tuple[int, int]:
    """(run id, index of the job) of a check run's id, the inverse of `job_id_of`."""
    run_id, place = divmod(check_run_id, 1000)
    return run_id, place - 1


def annotation(r: Repository, sha: str, data: dict[str, Any], urls: Urls) -> dict[str, Any]:
    """The `check-annotation` schema from a runner annotation `{level, message, title, file, line, ...}`;
    an annotation without a file is shown on `.github`, as GitHub shows workflow-command annotations."""
    path = data.get("file") or ".github"
    start = int(data.get("line") or 1)
    level = {"error": "failure", "warning": "warning", "notice": "notice"}.get(str(data.get("level")), "failure")
    return {
        "path": path, "blob_href": f"{urls.server}/{r.full_name}/blob/{sha}/{path}", "start_line": start,
        "end_line": int(data.get("end_line") or start), "start_column": data.get("col"),
        "end_column": data.get("end_column"), "annotation_level": level, "title": data.get("title") or "",
        "message": data.get("message") or "", "raw_details": None,
    }
