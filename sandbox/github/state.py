"""What the emulator knows besides git objects: users, organizations, repositories, Pages sites, workflow runs.

Everything lives in memory (the git data lives on disk); `Urls` holds the three bases every payload points at.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.github.store import GitRepo, ref_name

_ids = itertools.count(1000)


def now_iso(ts: float | None = None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if ts is None else ts))


@dataclass(frozen=True)
class Urls:
    api: str  # the REST root, like https://api.github.com
    server: str  # web root, like https://github.com (same port as the API here)
    pages: str  # the Pages host root


@dataclass
class Account:
    login: str
    type: str  # "User" or "Organization"
    token: str | None = None
    members: set[str] = field(default_factory=set)  # lower-case logins (organizations only)
    id: int = field(default_factory=lambda: next(_ids))
    created_at: str = field(default_factory=now_iso)

    @property
    def email(self) -> str:
        return f"{self.id}+{self.login}@users.noreply.github.com"


@dataclass
class PageBuild:
    id: int
    status: str  # queued -> building -> built | errored
    commit: str
    pusher: Account | None
    created: float
    updated: float
    error: str | None = None
    duration: int = 0
    served: str | None = None  # a Pages artifact's commit (deploy-pages), served instead of `commit`'s tree


@dataclass
class PagesSite:
    build_type: str  # "legacy" (built from a branch) or "workflow"
    branch: str
    path: str  # "/" or "/docs"
    builds: list[PageBuild] = field(default_factory=list)
    built_commit: str | None = None  # the commit of the last build (its Pages version)
    served_commit: str | None = None  # what the Pages host serves: built_commit, or its artifact's commit
    fail_next: int = 0  # armed through /_sandbox/pages/faults


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

    @property
    def full_name(self) -> str:
        return f"{self.owner.login}/{self.name}"

    @property
    def key(self) -> tuple[str, str]:
        return self.owner.login.lower(), self.name.lower()


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
    scopes: str = "repo, workflow"  # what X-OAuth-Scopes reports for every token
    accounts: dict[str, Account] = field(default_factory=dict)  # lower-case login -> account
    tokens: dict[str, Account] = field(default_factory=dict)
    repos: dict[tuple[str, str], Repository] = field(default_factory=dict)
    dispatches: list[dict[str, Any]] = field(default_factory=list)
    pushes: list[dict[str, Any]] = field(default_factory=list)  # branch/tag moves, for the local runner's `push`
    runs: dict[int, WorkflowRun] = field(default_factory=dict)
    run_ids: itertools.count = field(default_factory=lambda: itertools.count(7000))

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
        """'admin' for the owner and the owning organization's members, 'read' for others on a public repo."""
        if user is not None and (user is repo.owner or user.login.lower() in repo.owner.members):
            return "admin"
        return None if repo.private else "read"
