"""What the emulator knows besides git objects: users, organizations, repositories, Pages sites, workflow runs.

Everything lives in memory (the git data lives on disk); `Urls` holds the bases every payload points at.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.github.settings import Settings
from sandbox.github.store import GitRepo, ref_name

_ids = itertools.count(1000)
JOB_TOKEN_LOGIN = "github-actions[bot]"  # noqa: S105 - a login, not a secret
JOB_TOKEN_BOT_ID = 41898282  # github-actions[bot]'s id on github.com


def next_id() -> int:
    """A fresh id for an account, repository or artifact (GitHub's ids are opaque integers)."""
    return next(_ids)


def now_iso(ts: float | None = None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if ts is None else ts))


@dataclass(frozen=True)
class Urls:
    api: str  # the REST root, like https://api.github.com
    server: str  # web root, like https://github.com (same port as the API here)
    pages: dict[str, str]  # lower-case login -> that owner's Pages host, like https://<owner>.github.io


@dataclass
class Account:
    login: str
    type: str  # "User", "Organization", or "Bot" (a workflow's GITHUB_TOKEN)
    token: str | None = None
    members: set[str] = field(default_factory=set)  # lower-case logins (organizations only)
    repository: tuple[str, str] | None = None  # the only repository a Bot's token may write (lower-case key)
    id: int = field(default_factory=lambda: next(_ids))
    created_at: str = field(default_factory=now_iso)

    @property
    def email(self) -> str:
        return f"{self.id}+{self.login}@users.noreply.github.com"


@dataclass
class PageBuild:
    """A branch build (legacy), or a deployment's build when `/pages/builds` shows deployments (ideal world)."""

    id: int  # also its place in the order of publications (a later one never loses to an earlier one)
    status: str  # building -> built | errored
    commit: str
    pusher: Account | None
    created: float
    updated: float
    path: str = "/"  # the source folder when the build started (a later PUT does not change what it builds)
    error: str | None = None
    duration: int = 0


@dataclass
class PagesDeployment:
    """What `actions/deploy-pages` creates (`POST /pages/deployments`): an artifact published as the site."""

    id: str  # GitHub's id is the deployed commit (`pages_build_version`)
    seq: int  # place in the order of publications, shared with builds
    tree: str  # the artifact's files, stored as a git tree of the repository
    status: str = "deployment_in_progress"  # ... -> succeed | deployment_failed


@dataclass
class PagesSite:
    build_type: str  # "legacy" (built from a branch) or "workflow"
    branch: str
    path: str  # "/" or "/docs"
    builds: list[PageBuild] = field(default_factory=list)
    deployments: dict[str, PagesDeployment] = field(default_factory=dict)
    built_commit: str | None = None  # the commit of the last publication (its Pages version)
    served_tree: str | None = None  # what the host serves: the last publication's output
    published_seq: int = 0  # `id`/`seq` of the last publication
    built_at: float = 0.0
    fail_next: int = 0  # armed through /_sandbox/pages/faults
    status: str | None = None  # GET /pages `status`: the latest publication's (built, building or errored)


@dataclass
class Repository:
    owner: Account
    name: str
    git: GitRepo
    private: bool = False
    description: str | None = None
    homepage: str | None = None
    default_branch: str = "main"
    has_issues: bool = True
    has_projects: bool = True
    has_wiki: bool = True
    id: int = field(default_factory=lambda: next(_ids))
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)
    pushed_at: str = field(default_factory=now_iso)
    pages: PagesSite | None = None
    statuses: list[CommitStatus] = field(default_factory=list)  # oldest first
    ready_at: float = 0.0  # time.monotonic() from which a new repository reads consistently (creation lag)

    @property
    def full_name(self) -> str:
        return f"{self.owner.login}/{self.name}"

    @property
    def key(self) -> tuple[str, str]:
        return self.owner.login.lower(), self.name.lower()


@dataclass
class Artifact:
    """A workflow run's artifact, uploaded through `/_sandbox/artifacts` (GitHub's artifact service is not REST)."""

    id: int
    repo: Repository
    name: str
    data: bytes = field(repr=False)
    run_id: int | None = None


@dataclass
class CommitStatus:
    id: int
    sha: str
    state: str  # error | failure | pending | success
    context: str
    description: str | None
    target_url: str | None
    creator: Account
    created: float = field(default_factory=time.time)


@dataclass
class WorkflowRun:
    """A run registered by the local runner (or a queued placeholder from a workflow_dispatch)."""

    id: int
    repo: Repository
    data: dict[str, Any]
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)


@dataclass
class State:
    urls: Urls
    data_dir: Path
    build_delay: float
    settings: Settings = field(default_factory=Settings)  # the behaviours, switchable at /_sandbox/settings
    scopes: str = "repo, workflow"  # what X-OAuth-Scopes reports for every token
    accounts: dict[str, Account] = field(default_factory=dict)  # lower-case login -> account
    tokens: dict[str, Account] = field(default_factory=dict)
    repos: dict[tuple[str, str], Repository] = field(default_factory=dict)
    dispatches: list[dict[str, Any]] = field(default_factory=list)
    pushes: list[dict[str, Any]] = field(default_factory=list)  # branch/tag moves, for the local runner's `push`
    runs: dict[int, WorkflowRun] = field(default_factory=dict)
    run_ids: itertools.count = field(default_factory=lambda: itertools.count(7000))
    artifacts: dict[str, Artifact] = field(default_factory=dict)  # by id, as a string

    def add_user(self, login: str, token: str) -> Account:
        user = Account(login, "User", token=token)
        self.accounts[login.lower()] = user
        self.tokens[token] = user
        return user

    def add_org(self, login: str, members: list[str]) -> Account:
        org = Account(login, "Organization", members={m.lower() for m in members})
        self.accounts[login.lower()] = org
        return org

    def adopt_existing(self) -> int:
        """Register the bare repositories already under the data directory (a `--data` reused after a restart):
        git history survives; settings kept only in memory (visibility, Pages) start from their defaults."""
        count = 0
        for path in sorted(self.data_dir.glob("*/*.git")):
            owner = self.accounts.get(path.parent.name.lower())
            if owner is None or self.repo(owner.login, path.name[:-4]) is not None:
                continue
            git = GitRepo(path)
            head = git.repo.refs.read_ref(ref_name("HEAD")) or b""
            branch = head.decode().removeprefix("ref: refs/heads/") or "main"
            repo = Repository(owner=owner, name=path.name[:-4], git=git, default_branch=branch)
            self.repos[repo.key] = repo
            count += 1
        return count

    def repo(self, owner: str, name: str) -> Repository | None:
        return self.repos.get((owner.lower(), name.lower()))

    def repo_path(self, owner: str, name: str) -> Path:
        return self.data_dir / owner / f"{name}.git"

    def permission(self, user: Account | None, repo: Repository) -> str | None:
        """'admin' for the owner and the owning organization's members, 'write' for a workflow's GITHUB_TOKEN
        in its own repository, 'read' for others on a public repository."""
        if user is not None and user.type == "Bot":
            if user.repository == repo.key:
                return "write"
        elif user is not None and (user is repo.owner or user.login.lower() in repo.owner.members):
            return "admin"
        return None if repo.private else "read"

    def add_job_token(self, repo: Repository, token: str) -> Account:
        """A workflow run's GITHUB_TOKEN: github-actions[bot], writing only `repo` (docs.github.com, 'GITHUB_TOKEN':
        "The token's permissions are limited to the repository that contains your workflow")."""
        bot = Account(JOB_TOKEN_LOGIN, "Bot", token=token, repository=repo.key, id=JOB_TOKEN_BOT_ID)
        self.tokens[token] = bot
        return bot
