"""The task's public repository, through PyGithub and the Git Data API: read its state once (`read_published` ->
`Published`), create it when needed, and make one commit per round (`push_commit` of a `CommitPlan` -> `Commit`).

A new repository is created with `auto_init`, since GitHub refuses Git Data writes in an empty repository;
our commit replaces that initial tree entirely. Blobs, trees and commits are content-addressed, so retrying
any of these calls after a failure is safe; the branch moves last, in one ref update.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from github import Auth, Github, GithubException, GithubRetry, InputGitTreeElement
from github.Repository import Repository

from action.clone import read_files
from action.plan import FILE_MODE, TRAILER_TASK, CommitPlan, is_round_commit, repo_description, trailers
from action.published import Published
from deployer.brief import Brief

RECENT_COMMITS = 30


@dataclass(frozen=True)
class Commit:
    """This round's commit on the default branch: made by this run (`plan`), or found (an earlier run made it)."""

    repo: Repository
    sha: str
    plan: CommitPlan | None = None  # None: found, not made; the site stays as it is
    created_repo: bool = False  # this run created the repository
    is_head: bool = True  # the branch head when read or made: its Pages build is the one to wait for

    @property
    def push_workflows(self) -> list[str]:
        """The workflows our push started, whose runs on this commit are waited for."""
        return self.plan.push_workflows(self.repo.default_branch) if self.plan else []


class PublishError(RuntimeError):
    """Publishing cannot go on; the subclass names why."""


class EmptyRepository(PublishError):
    """The repository has no commit on its default branch to build on (GitHub refuses Git Data writes there)."""


class BranchMoved(PublishError):
    """Another run moved the branch between our read and our ref update (GitHub: 422 not a fast forward).

    `deployer run` then starts the round again on top of the new head (see action/main.py), so two runs of one task
    never lose a round; in production the workflow's concurrency group makes this rare. Known limit: when a later
    round publishes first, the earlier round applied again on top of it sees only the checks of rounds before its
    own."""


def open_github(token: str, api_url: str, *, timeout: int = 30, retries: int = 6) -> Github:
    """A client that retries 5xx, 429 and secondary rate limits (honouring Retry-After) for every method.

    PyGithub's default retry leaves out PATCH (our ref update) and paces writes a second apart; a round makes
    a handful of writes, so we retry all methods with backoff and do not pace. It also retries a 429 only when it
    carries Retry-After, and GitHub's secondary limit can be a 429 without one: so 429 is listed too.
    """
    retry = GithubRetry(
        total=retries, backoff_factor=0.5, backoff_max=30, secondary_rate_wait=30, max_rate_limit_wait=120,
        allowed_methods=frozenset({"GET", "POST", "PATCH", "PUT", "DELETE", "HEAD"}),
        status_forcelist=[*range(500, 600), 429],  # GithubRetry adds 403 (rate limits, judged by their message)
    )
    return Github(
        auth=Auth.Token(token), base_url=api_url.rstrip("/"), timeout=timeout, retry=retry,
        seconds_between_requests=None, seconds_between_writes=None, user_agent="llm-pages-deployer",
    )


def token_login(gh: Github) -> str:
    return gh.get_user().login


def get_repo(gh: Github, owner: str, name: str) -> Repository | None:
    try:
        return gh.get_repo(f"{owner}/{name}")
    except GithubException as exc:
        if exc.status == 404:
            return None
        raise


def create_repo(gh: Github, owner: str, login: str, name: str, description: str) -> Repository:
    """Create the public repository; if an earlier (failed) attempt already made it, use that one."""
    try:
        if owner == login:
            return gh.get_user().create_repo(name, description=description, auto_init=True, private=False)
        return gh.get_organization(owner).create_repo(name, description=description, auto_init=True, private=False)
    except GithubException as exc:
        if exc.status == 422 and (existing := get_repo(gh, owner, name)) is not None:
            return existing
        raise


def read_published(gh: Github, brief: Brief, *, owner: str, login: str, token: str) -> Published:
    """The repository of `brief` as this round finds it. The tree is read (one shallow clone) only when there is
    something to build on and the round is not already committed."""
    repo = get_repo(gh, owner, brief.repo_name)
    if repo is None:
        return Published.of(brief, owner, login=login)
    round_commit, head = find_round_commit(repo, brief)
    readable = head is not None and round_commit is None
    files = read_files(repo.clone_url, token, repo.default_branch)[1] if readable else {}
    return Published.of(brief, owner, files, login=login, repo=repo, head=head, round_commit=round_commit)


def committed_round(published: Published) -> Commit | None:
    """This round's commit when an earlier run of the round made it (a re-run notifies it again), else None."""
    if published.repo is None or published.round_commit is None:
        return None
    return Commit(published.repo, published.round_commit, is_head=published.round_commit == published.head)


def repository_to_build_on(gh: Github, published: Published, brief: Brief) -> tuple[Repository, str, bool]:
    """(the repository, the head to commit on, whether this run created it), creating the repository if need be.

    Raises BranchMoved when another run created it and published to it meanwhile, EmptyRepository when there is
    no commit to build on."""
    repo, head = published.repo, published.head
    if repo is None:
        repo = create_repo(gh, published.owner, published.login, published.name, repo_description(brief))
        _, head = find_round_commit(repo, brief)
        if head is not None and is_deployer_commit(repo, head):
            raise BranchMoved(f"another run created {repo.full_name} and published to it meanwhile")
    if head is None:
        raise EmptyRepository(f"{repo.full_name} has no commit on {repo.default_branch} to build on")
    return repo, head, published.repo is None


def find_round_commit(repo: Repository, brief: Brief) -> tuple[str | None, str | None]:
    """(sha of this round's earlier commit or None, the default branch's head sha or None when empty)."""
    head = None
    try:
        for index, commit in enumerate(repo.get_commits(sha=repo.default_branch)):
            if index == 0:
                head = commit.sha
            if is_round_commit(commit.commit.message, brief):
                return commit.sha, head
            if index + 1 >= RECENT_COMMITS:
                break
    except GithubException as exc:
        if exc.status != 409:  # 409: the repository is empty
            raise
    return None, head




def push_commit(gh: Github, repo: Repository, plan: CommitPlan, parent_sha: str) -> str:
    """Blobs for binary files, one full tree, one commit on `parent_sha`, then move the branch: the commit sha.

    The commit and the ref go through the requester: PyGithub's `create_git_commit` wants parent objects, and
    completing one costs an API call we do not need.
    """
    elements = []
    for entry in plan.entries:
        if entry.binary is not None:
            blob = repo.create_git_blob(base64.b64encode(entry.binary).decode("ascii"), "base64")
            elements.append(InputGitTreeElement(entry.path, FILE_MODE, "blob", sha=blob.sha))
        else:
            elements.append(InputGitTreeElement(entry.path, FILE_MODE, "blob", content=entry.text))
    tree = repo.create_git_tree(elements)
    _, commit = gh.requester.requestJsonAndCheck(
        "POST", f"{repo.url}/git/commits", input={"message": plan.message, "tree": tree.sha, "parents": [parent_sha]},
    )
    try:
        gh.requester.requestJsonAndCheck(
            "PATCH", f"{repo.url}/git/refs/heads/{repo.default_branch}", input={"sha": commit["sha"], "force": False},
        )
    except GithubException as exc:
        if exc.status != 422:
            raise
        raise BranchMoved(
            f"the branch {repo.default_branch} moved while we committed (HTTP {exc.status}): another run published "
            "this task meanwhile"
        ) from None
    return str(commit["sha"])


def later_head(repo: Repository, commit_sha: str) -> str | None:
    """The branch head when it has moved on from `commit_sha` (found in its recent history), else None."""
    head = None
    for index, commit in enumerate(repo.get_commits(sha=repo.default_branch)):
        head = head or commit.sha
        if commit.sha == commit_sha:
            return None if index == 0 else str(head)
        if index + 1 >= RECENT_COMMITS:
            break
    return None


def is_deployer_commit(repo: Repository, sha: str) -> bool:
    """Whether `sha` is a round commit of ours (another run may have created and published the repository)."""
    return TRAILER_TASK in trailers(repo.get_commit(sha).commit.message)
