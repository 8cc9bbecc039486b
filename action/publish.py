"""The task's public repository, through PyGithub and the Git Data API: read its state once (`read_published` ->
`Published`), create it when needed, and make one commit per round (`push_commit` of a `CommitPlan` -> `Commit`).

A new repository is created with `auto_init`, since GitHub refuses Git Data writes in an empty repository;
our commit replaces that initial tree entirely. It is created only once the site is generated, so a round whose
model fails leaves nothing behind. Creation is eventually consistent: for a few seconds GitHub reads the new
repository as missing or empty, so its head is first read when that lag is likely over, and again until it settles
(`settled`), without repeating the LLM work.

Blobs, trees and commits are content-addressed, so retrying any of these calls after a failure is safe; the branch
moves last, in one ref update.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple, TypeVar

from github import Github, GithubException
from github.Commit import Commit as ListedCommit
from github.Repository import Repository

from action.clone import read_files
from action.delivery_record import Status, carried_claim
from action.plan import TRAILER_TASK, CommitPlan, is_round_commit, repo_description, trailers, tree_parts
from action.published import Published
from deployer.brief import Brief
from deployer.retry import backoff

RECENT_COMMITS = 30
# Seconds we keep reading a repository we just created while GitHub still answers as if it did not exist: it
# settles within a few seconds (jenkins-x/jx#7130 sleeps 5 s after creating; codesandbox/codesandbox-client#5604).
SETTLE_S = 30.0
# Seconds after creating it before its head is first read: the lag is "a few seconds" (the emulator's default draws
# 1.5-3 s), so an earlier read is mostly a wasted call.
FIRST_READ_AFTER_S = 3.0
# What GitHub answers during that lag: 404 (the repository), 409 "Git Repository is empty." (commits, Git Data),
# 422 "No commit found for SHA: main" (a commit by ref).
SETTLING = frozenset({404, 409, 422})
T = TypeVar("T")


@dataclass(frozen=True)
class Commit:
    """This round's commit on the default branch: made by this run (`plan`), or found (an earlier run made it)."""

    repo: Repository
    sha: str
    plan: CommitPlan | None = None  # None: found, not made; the site stays as it is
    created_repo: bool = False  # this run created the repository
    is_head: bool = True  # the branch head when read or made: its Pages build is the one to wait for
    claim: Status | None = None  # the delivery claim it carries (action/delivery_record.py:carried_claim)
    changed: frozenset[str] = frozenset()  # the paths whose content this commit changed (made by this run)

    @property
    def push_workflows(self) -> list[str]:
        """The workflows our push started, whose runs on this commit are waited for."""
        return self.plan.push_workflows(self.repo.default_branch) if self.plan else []


class PublishError(RuntimeError):
    """Publishing cannot go on; the subclass names why."""


class EmptyRepository(PublishError):
    """The repository has no commit on its default branch to build on (GitHub refuses Git Data writes there)."""


class RepositoryNotReady(PublishError):
    """GitHub still read the repository we created as missing or empty after SETTLE_S seconds."""


class WorkflowScopeMissing(PublishError):
    """GitHub refused a commit that changes `.github/workflows/` (a bare 404): the token lacks the `workflow` scope."""


class BranchMoved(PublishError):
    """Another run moved the branch between our read and our ref update (GitHub: 422 not a fast forward).

    `deployer run` then starts the round again on top of the new head (see action/main.py), so two runs of one task
    never lose a round; in production the workflow's concurrency group makes this rare. Known limit: when a later
    round publishes first, the earlier round applied again on top of it sees only the checks of rounds before its
    own."""


class History(NamedTuple):
    """What the default branch's recent commits (one API call) say about this round."""

    round_commit: str | None  # this round's earlier commit
    head: str | None  # the branch head; None when the repository is empty
    head_is_ours: bool  # the head is a round commit of ours (any task, any round)
    round_claim: Status | None = None  # the delivery claim the round's commit carries


def token_login(gh: Github) -> str:
    return gh.get_user().login


def get_repo(gh: Github, owner: str, name: str) -> Repository | None:
    try:
        return gh.get_repo(f"{owner}/{name}")
    except GithubException as exc:
        if exc.status == 404:
            return None
        raise


def settled(read: Callable[[], T], what: str, *, limit: float = SETTLE_S, not_before: float | None = None,
            clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> T:
    """`read()`, again while GitHub answers it as it does for a repository still settling after its creation
    (SETTLING), for at most `limit` seconds; then RepositoryNotReady naming `what` and GitHub's last answer.
    The first read waits for `not_before` (a `clock()` time)."""
    if not_before is not None and clock() < not_before:
        sleep(not_before - clock())
    began = clock()
    delays = backoff(1.0, 4.0, 2.0)
    while True:
        try:
            return read()
        except GithubException as exc:
            if exc.status not in SETTLING:
                raise
            wait = next(delays)
            if clock() + wait - began > limit:
                message = exc.data.get("message") if isinstance(exc.data, dict) else exc.data
                raise RepositoryNotReady(f"{what} still answered HTTP {exc.status} ({message}) {limit:.0f} s after "
                                         "the repository was created") from None
            sleep(wait)


def create_repo(gh: Github, owner: str, login: str, name: str, description: str) -> tuple[Repository, bool]:
    """Create the public repository: (it, True). If it exists already (an earlier run, or another run right now
    made it): (that one, False), read until it settles, since it may itself be seconds old."""
    try:
        if owner == login:
            return gh.get_user().create_repo(name, description=description, auto_init=True, private=False), True
        org = gh.get_organization(owner)
        return org.create_repo(name, description=description, auto_init=True, private=False), True
    except GithubException as exc:
        if exc.status != 422:
            raise
        try:
            return settled(lambda: gh.get_repo(f"{owner}/{name}"), f"{owner}/{name}", limit=SETTLE_S / 3), False
        except RepositoryNotReady:
            raise exc from None  # not there after all: GitHub's own reason for the 422 says more


def read_published(gh: Github, brief: Brief, *, owner: str, login: str, token: str) -> Published:
    """The repository of `brief` as this round finds it. The tree is read (one shallow clone) only when there is
    something to build on and the round is not already committed."""
    repo = get_repo(gh, owner, brief.repo_name)
    if repo is None:
        return Published.of(brief, owner, login=login)
    found = find_round_commit(repo, brief)
    readable = found.head is not None and found.round_commit is None
    files = read_files(repo.clone_url, token, repo.default_branch)[1] if readable else {}
    return Published.of(brief, owner, files, login=login, repo=repo, head=found.head,
                        round_commit=found.round_commit, round_claim=found.round_claim)


def committed_round(published: Published) -> Commit | None:
    """This round's commit when an earlier run of the round made it (a re-run notifies it again), else None."""
    if published.repo is None or published.round_commit is None:
        return None
    return Commit(published.repo, published.round_commit, is_head=published.round_commit == published.head,
                  claim=published.round_claim)


def repository_to_build_on(gh: Github, published: Published, brief: Brief, *,
                           clock: Callable[[], float] = time.monotonic) -> tuple[Repository, str, bool]:
    """(the repository, the head to commit on, whether this run created it), creating the repository if need be.

    Raises BranchMoved when another run created it and published to it meanwhile, EmptyRepository when there is
    no commit to build on."""
    repo, head = published.repo, published.head
    if repo is None:
        new, made = create_repo(gh, published.owner, published.login, published.name, repo_description(brief))
        found = settled(lambda: find_round_commit(new, brief, empty_ok=False), f"the default branch of {new.full_name}",
                        not_before=clock() + FIRST_READ_AFTER_S if made else None)
        head = found.head
        if found.head_is_ours:
            raise BranchMoved(f"another run created {new.full_name} and published to it meanwhile")
        repo = new
    if head is None:
        raise EmptyRepository(f"{repo.full_name} has no commit on {repo.default_branch} to build on")
    return repo, head, published.repo is None


def find_round_commit(repo: Repository, brief: Brief, *, empty_ok: bool = True) -> History:
    """This round's earlier commit and the default branch's head, from one page of its recent commits.

    `empty_ok=False` for a repository created with a commit (auto_init): GitHub's 409 "empty" then means it is
    still settling, and is raised for `settled` to read again."""
    head, ours = None, False
    try:
        for index, commit in enumerate(repo.get_commits(sha=repo.default_branch)):
            if index == 0:
                head, ours = commit.sha, TRAILER_TASK in trailers(commit.commit.message)
            if is_round_commit(commit.commit.message, brief):
                return History(commit.sha, head, ours, carried_claim(commit.commit.message, committed_at(commit)))
            if index + 1 >= RECENT_COMMITS:
                break
    except GithubException as exc:
        if exc.status != 409 or not empty_ok:  # 409: the repository is empty
            raise
    return History(None, head, ours)


def push_commit(gh: Github, repo: Repository, plan: CommitPlan, parent_sha: str) -> str:
    """Blobs for the plan's blob entries, the full tree (one request per `tree_parts` part, each on the tree before
    it), one commit on `parent_sha`, then move the branch: the commit sha.

    The tree, commit and ref go through the requester: each tree body is then exactly the one `tree_parts`
    measured, and PyGithub's `create_git_commit` wants parent objects, which cost an API call.
    """
    blobs = {entry.path: repo.create_git_blob(base64.b64encode(entry.blob).decode("ascii"), "base64").sha
             for entry in plan.entries if entry.blob is not None}
    try:
        tree: dict[str, str] = {}
        for part in tree_parts(plan.entries):
            body = {"tree": [e.tree_item(blobs.get(e.path)) for e in part]}
            _, tree = gh.requester.requestJsonAndCheck("POST", f"{repo.url}/git/trees",
                                                       input={**body, **({"base_tree": tree["sha"]} if tree else {})})
        _, commit = gh.requester.requestJsonAndCheck(
            "POST", f"{repo.url}/git/commits", input={"message": plan.message, "tree": tree["sha"],
                                                      "parents": [parent_sha]})
    except GithubException as exc:
        raise refusal(gh, repo, plan, exc) from None
    try:
        gh.requester.requestJsonAndCheck(
            "PATCH", f"{repo.url}/git/refs/heads/{repo.default_branch}", input={"sha": commit["sha"], "force": False},
        )
    except GithubException as exc:
        if exc.status != 422:
            raise refusal(gh, repo, plan, exc) from None
        raise BranchMoved(
            f"the branch {repo.default_branch} moved while we committed (HTTP {exc.status}): another run published "
            "this task meanwhile"
        ) from None
    return str(commit["sha"])


def refusal(gh: Github, repo: Repository, plan: CommitPlan, exc: GithubException) -> Exception:
    """What GitHub's refusal of our tree, commit or ref means. A bare 404 to a commit holding `.github/workflows/`
    files is how GitHub says the token lacks the `workflow` scope, rather than 403 (wadackel/files-sync-action#201,
    octokit/rest.js#368); it is that only when the repository reads as ours (we may push to it). Otherwise the
    answer stands as it is."""
    if exc.status != 404 or not plan.workflows:
        return exc
    try:
        _, found = gh.requester.requestJsonAndCheck("GET", repo.url)
    except GithubException:
        return exc
    if not (found.get("permissions") or {}).get("push"):
        return exc
    paths = ", ".join(sorted(plan.workflows))
    scopes = gh.oauth_scopes  # from that answer's X-OAuth-Scopes; None for fine-grained tokens and apps
    if scopes is not None and "workflow" in scopes:
        return exc
    need = (f"the token lacks the `workflow` scope (its scopes: {', '.join(scopes) or 'none'})" if scopes is not None
            else "the token may not change workflows: a fine-grained token needs Workflows (read and write), a "
                 "classic one the `workflow` scope")
    return WorkflowScopeMissing(f"GitHub answered 404 to a commit of {paths} in {repo.full_name}, which exists and "
                                f"is writable: {need}. Add it (github.com/settings/tokens), or ask for a site "
                                "without a CI workflow")


def committed_at(commit: ListedCommit) -> float:
    """When a listed commit was made (its committer date), epoch seconds; now when GitHub does not say."""
    when = commit.commit.committer.date if commit.commit.committer else None
    return when.timestamp() if when is not None else time.time()


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

