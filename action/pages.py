"""Pages: switch it on, wait until GitHub has built *our* commit, and until the page itself serves it: a `Commit`
becomes a `Deployment` (`deploy`).

`pages_url` is always the API's `html_url`, never assembled by hand (custom domains and org sites differ).
A build of an older commit, or a page still serving the previous round, is not "live": we wait for ours.

"Live" means: for a site built from the branch, the page serves byte for byte a file this round changed
(`probe_path`: `index.html` when it changed; `.nojekyll` makes Pages serve files as committed); for a site a
workflow deploys (its artifact is the workflow's output, not our tree), the workflow's run on our commit succeeded
(`ciwait`: `actions/deploy-pages` succeeds only once its Pages deployment has), and the page answers 200. GitHub
lists such deployments apart from `/pages/builds`, so they are never waited for there. A branch build is waited for
on the page itself, which costs no API call; the API's latest build is read only when the page is late
(`wait_for_build`). Every poll of the page carries a fresh query string: Pages' CDN caches each URL, 404s included,
for up to ten minutes (`Cache-Control: max-age=600`), so re-asking the same URL could see a stale 404 or the
previous round long after the new one is published.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests
from github import Github, GithubException
from github.Repository import Repository

from action.publish import Commit, later_head
from deployer.retry import backoff

# Seconds without a build of our commit before we ask for one (a push GitHub started no build for).
NUDGE_AFTER_S = 20.0
# Seconds before the API is first asked about a build while the page itself is polled (which costs no API call):
# a branch build takes tens of seconds, build and deploy jobs of GitHub's "pages build and deployment" run
# (renovatebot/renovatebot.github.io run 6275053196: build 6 s, then deploy; schalkdaniel/compboost run
# 4555467376: build 18 s; "up to 10 minutes", community discussion 22203). The gaps then double up to a minute.
FIRST_BUILD_CHECK_S = NUDGE_AFTER_S
MAX_CHECK_GAP_S = 60.0
# Gaps between polls (first, cap, factor): of the page itself, and of the API's latest build when the page cannot
# tell (no file of ours to compare, or a later head's build).
PAGE_POLLS = (0.25, 3.0, 1.5)
API_POLLS = (0.5, 5.0, 1.5)


class PagesError(RuntimeError):
    """Pages did not deploy our commit; the subclass names why."""


class PagesNotEnabled(PagesError):
    """GitHub refused to switch Pages on."""


class BuildErrored(PagesError):
    """The Pages build of our commit kept failing, rebuilds included."""


class BuildNotDone(PagesError):
    """Pages did not build our commit before the deadline."""


class NotLive(PagesError):
    """The page did not serve our commit before the deadline."""


@dataclass(frozen=True)
class Deployment:
    pages_url: str
    built: str | None  # the commit whose build serves the site: ours, or a later head that contains it; None when
    # not waited for (a re-run whose round is no longer the head)
    requests: int  # GETs until the page answered


def deploy(gh: Github, commit: Commit, *, deadline: float, log: Callable[[str], None]) -> Deployment:
    """Pages on for the commit's repository, its build waited for (when the commit is the head), then the page."""
    build_type = commit.plan.pages_build_type if commit.plan else None  # None: as the site already is
    page = enable_pages(gh, commit.repo, known_new=commit.created_repo and build_type != "workflow",
                        build_type=build_type)
    pages_url = str(page["html_url"])
    from_branch = page.get("build_type") != "workflow"
    # A workflow deploys an artifact, not the tree: only a branch build must serve what we committed.
    path = probe_path(commit.changed)
    expected = commit.plan.content(path) if commit.plan and from_branch else None
    url = pages_url if path == "index.html" else f"{pages_url.rstrip('/')}/{quote(path)}"
    probe = PageProbe(url, expected, cache_key=commit.sha[:12])
    built, live = None, False
    if commit.is_head and from_branch:
        status, polls, built = wait_for_build(gh, commit.repo, commit.sha, deadline=deadline,
                                              moved_on=lambda: later_head(commit.repo, commit.sha),
                                              page=probe if expected is not None else None)
        told = "the page serves it" if status == "live" else "the API says so"
        log(f"Pages build built for {built[:12]}: {told} ({polls} API polls)")
        live = status == "live"
        if built != commit.sha:  # a later head's page is served: it contains this round, not this round's files
            probe = PageProbe(pages_url, None, cache_key=built[:12])
    if not live:
        wait_live(probe, deadline=deadline)
    log(f"{pages_url} is live ({probe.requests} requests" + (f" for {path}" if probe.url != pages_url else "") + ")")
    index = commit.plan.content("index.html") if commit.plan and from_branch and built == commit.sha else None
    plain = wait_plain_url(pages_url, index, deadline=deadline - NOTIFY_RESERVE_S, log=log)
    return Deployment(pages_url, built, probe.requests + plain)


def probe_path(changed: Collection[str]) -> str:
    """The file whose answer tells this round's page from the last one's: `index.html` when this commit changed
    it, else the first changed file outside dot-directories (a round may edit only `app.js`: an unchanged
    `index.html` would read as live before the build). When nothing served changed, `index.html`: the page
    already serves what this round does."""
    if "index.html" in changed:
        return "index.html"
    served = sorted(p for p in changed if not any(part.startswith(".") for part in p.split("/")))
    return served[0] if served else "index.html"


def enable_pages(gh: Github, repo: Repository, *, known_new: bool,
                 build_type: str | None = "legacy") -> dict[str, Any]:
    """Pages from the default branch root (`legacy`), or from the repository's own workflow (`workflow`: it
    deploys with actions/deploy-pages), or (None) as the site already is; 409 means it is on already, then we
    read (and if need be fix) it.

    For a repository we just created, POST first (one call); otherwise GET first, since it is usually on.
    """
    source = {"branch": repo.default_branch, "path": "/"}
    if not known_new:
        try:
            _, page = gh.requester.requestJsonAndCheck("GET", f"{repo.url}/pages")
        except GithubException as exc:
            if exc.status != 404:
                raise
        else:
            return fix_source(gh, repo, page, source, build_type)
    body = {"source": source} if build_type in ("legacy", None) else {"build_type": build_type}
    try:
        _, page = gh.requester.requestJsonAndCheck("POST", f"{repo.url}/pages", input=body)
        return page
    except GithubException as exc:
        if exc.status != 409:
            raise PagesNotEnabled(f"could not enable Pages: HTTP {exc.status} {exc.data}") from None
    _, page = gh.requester.requestJsonAndCheck("GET", f"{repo.url}/pages")
    return fix_source(gh, repo, page, source, build_type)


def fix_source(gh: Github, repo: Repository, page: dict[str, Any], source: dict[str, str],
               build_type: str | None = "legacy") -> dict[str, Any]:
    current = page.get("source") or {}
    if build_type is None:
        return page
    if build_type == "workflow":
        if page.get("build_type") == "workflow":
            return page
        gh.requester.requestJsonAndCheck("PUT", f"{repo.url}/pages", input={"build_type": "workflow"})
        _, page = gh.requester.requestJsonAndCheck("GET", f"{repo.url}/pages")
        return page
    if page.get("build_type") in (None, "legacy") and current == source:
        return page
    gh.requester.requestJsonAndCheck("PUT", f"{repo.url}/pages", input={"source": source, "build_type": "legacy"})
    # A PUT that changes the source can queue no build at all (SailorDave17/race-timer#175): ask for one.
    gh.requester.requestJsonAndCheck("POST", f"{repo.url}/pages/builds")
    _, page = gh.requester.requestJsonAndCheck("GET", f"{repo.url}/pages")
    return page


class BuildWatch:
    """What one look at the latest Pages build (one API call) means for our commit, and what it asks of us: a
    rebuild when ours errored, a build when none came (`nudge_at`), another commit when a later head holds ours."""

    def __init__(self, gh: Github, repo: Repository, commit_sha: str, *, nudge_at: float, max_rebuilds: int,
                 moved_on: Callable[[], str | None] | None) -> None:
        self.gh, self.repo, self.commit = gh, repo, commit_sha
        self.nudge_at: float | None = nudge_at
        self.max_rebuilds, self.moved_on = max_rebuilds, moved_on
        self.polls = self.rebuilds = 0
        self.last = "no build yet"

    def built(self, now: float) -> bool:
        """Whether our commit (or the later head that holds it) is built; asks for builds as needed."""
        self.polls += 1
        try:
            _, build = self.gh.requester.requestJsonAndCheck("GET", f"{self.repo.url}/pages/builds/latest")
        except GithubException as exc:
            if exc.status != 404:
                raise
            build = {}
        status, built_commit = build.get("status"), build.get("commit")
        self.last = f"latest build {status or 'none'} for {str(built_commit or '-')[:12]}"
        if built_commit == self.commit:
            if status == "built":
                return True
            if status == "errored":
                if self.rebuilds >= self.max_rebuilds:
                    message = (build.get("error") or {}).get("message")
                    raise BuildErrored(f"Pages build of {self.commit[:12]} errored {self.rebuilds + 1} times: "
                                       f"{message}")
                self.rebuilds += 1
                self._ask_for_a_build()
        elif self.moved_on is not None and (later := self.moved_on()) is not None:
            self.commit = later
        elif self.nudge_at is not None and now >= self.nudge_at:
            # A push made with a workflow's GITHUB_TOKEN starts no Pages build (python/python-docs-pl#5): ask once.
            self._ask_for_a_build()
            self.nudge_at = None
        return False

    def _ask_for_a_build(self) -> None:
        self.gh.requester.requestJsonAndCheck("POST", f"{self.repo.url}/pages/builds")


def wait_for_build(
    gh: Github, repo: Repository, commit_sha: str, *, deadline: float,
    clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep,
    max_rebuilds: int = 3, moved_on: Callable[[], str | None] | None = None, nudge_after: float = NUDGE_AFTER_S,
    page: PageProbe | None = None, first_check: float = FIRST_BUILD_CHECK_S,
) -> tuple[str, int, str]:
    """Wait until Pages has built `commit_sha`: (`built` or `live`, the API polls, the commit built).

    Without `page`, the latest build is polled from half a second on. With `page` (our page's own answer, which
    costs no API call), the page is polled and the API asked only from `first_check` on, at doubling gaps: a build
    takes tens of seconds on GitHub, and the page serving the file of ours it probes (`live`) says it is done. The API
    still says what only it knows: a build that errored (rebuilt), none at all (asked for), a later head
    (`moved_on()`, when another run committed on top; then the page is no longer ours to compare, and that head's
    build is the one waited for)."""
    watch = BuildWatch(gh, repo, commit_sha, nudge_at=clock() + nudge_after, max_rebuilds=max_rebuilds,
                       moved_on=moved_on)
    ticks = backoff(*PAGE_POLLS) if page else backoff(*API_POLLS)
    gaps = backoff(first_check, MAX_CHECK_GAP_S, 2.0)
    check_at = clock() + next(gaps) if page else clock()
    while True:
        if page is not None and page():
            return "live", watch.polls, watch.commit
        if clock() >= check_at:
            if watch.built(clock()):
                return "built", watch.polls, watch.commit
            if watch.commit != commit_sha and page is not None:
                page, ticks = None, backoff(*API_POLLS)
            check_at = clock() + next(gaps) if page else clock()
        wait = next(ticks)
        if clock() + wait > deadline:
            raise BuildNotDone(f"Pages did not build {watch.commit[:12]} before the deadline ({watch.last}"
                               + (f"; the page: {page.last}" if page else "") + ")")
        sleep(wait)


def serves(response: requests.Response, expected: bytes | None) -> bool:
    """Whether a page answer is this round's: 200, with our `index.html` as its body when we know it."""
    return response.status_code == 200 and (expected is None or response.content == expected)


class PageProbe:
    """One GET of the page per call, true when it serves this round (`serves`).

    Each request has a query string of its own (`cache_key` and a random part, fresh on a re-run too), so the
    CDN's cached answers to earlier polls, a 404 before the first build or the previous round's page, are never
    served back to us."""

    def __init__(self, pages_url: str, expected: bytes | None, *, cache_key: str = "",
                 session: requests.Session | None = None) -> None:
        self.url, self.expected, self.cache_key = pages_url, expected, cache_key
        self.http = session or requests.Session()
        self.requests = 0
        self.last = "not asked yet"

    def __call__(self) -> bool:
        self.requests += 1
        try:
            response = self.http.get(self.url, params={"deployer": f"{self.cache_key}.{secrets.token_hex(4)}"},
                                     timeout=15)
        except requests.RequestException as exc:
            self.last = type(exc).__name__
            return False
        if serves(response, self.expected):
            return True
        self.last = f"HTTP {response.status_code}" + (" (old content)" if response.status_code == 200 else "")
        return False


def wait_live(probe: PageProbe, *, deadline: float, clock: Callable[[], float] = time.time,
              sleep: Callable[[float], None] = time.sleep) -> int:
    """Ask `probe` until the page serves this round; the requests it took."""
    delays = backoff(*PAGE_POLLS)
    while not probe():
        wait = next(delays)
        if clock() + wait > deadline:
            raise NotLive(f"{probe.url} did not serve the new commit before the deadline (last: {probe.last})")
        sleep(wait)
    return probe.requests


# Seconds kept for notifying when waiting for the plain URL: past that, the evaluator is told anyway.
NOTIFY_RESERVE_S = 60.0
_MAX_AGE = re.compile(r"max-age=(\d+)")


def cached_for(headers: Mapping[str, str]) -> float:
    """Seconds a CDN answer has left: `max-age` less its `Age` (both sent by Pages' Fastly); 5 when not said."""
    found = _MAX_AGE.search(headers.get("Cache-Control", ""))
    if found is None:
        return 5.0
    try:
        age = float(headers.get("Age", "0"))
    except ValueError:
        age = 0.0
    return max(0.0, float(found.group(1)) - age)


def wait_plain_url(
    pages_url: str, expected: bytes | None, *, deadline: float, log: Callable[[str], None],
    session: requests.Session | None = None, clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """GET `pages_url` as the evaluator will open it (no query string) until it serves this round too; the requests.

    Our polls never touch the plain URL, but a grader's earlier visit may have left the previous round's page (or
    a 404) in Pages' CDN for the rest of its max-age. We wait that out, so the evaluator is not notified of a page
    it would see stale, unless the deadline comes first: the page is live, so then we notify anyway and say so."""
    http = session or requests.Session()
    attempts = 0
    while True:
        attempts += 1
        try:
            response = http.get(pages_url, timeout=15)
        except requests.RequestException:
            return attempts  # the fresh URL answered: a network blip here is no reason to hold the round back
        if serves(response, expected):
            return attempts
        wait = cached_for(response.headers) + 0.5
        if clock() + wait > deadline:
            log(f"::warning::{pages_url} without a query string still serves what Pages' CDN cached before this "
                f"round (HTTP {response.status_code}) for {wait:.0f} s more: notifying anyway")
            return attempts
        log(f"{pages_url} without a query string serves what Pages' CDN cached before this round "
            f"(HTTP {response.status_code}): waiting {wait:.0f} s for it to expire, so the evaluator sees this round")
        sleep(wait)
