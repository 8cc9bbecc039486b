"""Waiting for Pages as GitHub behaves: a build asked for when a push started none (issue 14 row 9), and the plain
URL a grader opens waited for while Pages' CDN still holds what it cached before this round (row 5)."""

from __future__ import annotations

import time

import requests
from github import Github
from github.Repository import Repository

from action.github_client import open_github
from action.pages import PageProbe, cached_for, probe_path, wait_for_build, wait_plain_url
from action.publish import create_repo
from tests.conftest import GitHub
from tests.github.helpers import call, put_file
from tests.github.helpers import wait_for_build as built


def built_site(github: GitHub, name: str) -> tuple[Github, Repository, str]:
    """A repository whose Pages site serves its first commit (`index.html` "v1"): our client, it, the page's URL."""
    gh = open_github(github.token, github.url)
    repo, _ = create_repo(gh, github.user, github.user, name, name.title())
    github.settle(repo.full_name)
    first = put_file(github, name, "index.html", b"v1")
    page = call(github, "POST", f"/repos/sandbox/{name}/pages", json={"source": {"branch": "main"}})
    assert page.status_code == 201
    built(github, f"sandbox/{name}", first)
    return gh, repo, page.json()["html_url"]


def silent_push(github: GitHub, name: str) -> str:
    """`index.html` "v2" pushed with a workflow's GITHUB_TOKEN: GitHub starts no build for it."""
    job = github.sandbox("POST", "job-tokens", json={"owner": "sandbox", "repo": name}).json()["token"]
    return put_file(github, name, "index.html", b"v2", token=job)


def test_a_build_is_asked_for_when_a_push_started_none(github: GitHub) -> None:
    gh, repo, _ = built_site(github, "silent")
    pushed = silent_push(github, "silent")
    github.sandbox("DELETE", "requests")
    status, _, commit = wait_for_build(gh, repo, pushed, deadline=time.time() + 60, nudge_after=1.0)
    assert (status, commit) == ("built", pushed)
    asked = [c["status"] for c in github.sandbox("GET", "requests").json()
             if c["route"] == "POST /repos/{owner}/{repo}/pages/builds"]
    assert asked == [201]  # once, and only because no build came


def test_a_build_the_page_shows_costs_no_api_poll(github: GitHub) -> None:
    gh, repo, url = built_site(github, "quiet")
    pushed = put_file(github, "quiet", "index.html", b"v2")
    github.sandbox("DELETE", "requests")
    probe = PageProbe(url, b"v2", cache_key=pushed[:12])
    status, polls, commit = wait_for_build(gh, repo, pushed, deadline=time.time() + 60, page=probe)
    assert (status, polls, commit) == ("live", 0, pushed) and probe.requests >= 1
    assert [c["route"] for c in github.sandbox("GET", "requests").json()] == []  # the page told: no API call


def test_the_api_is_asked_once_the_page_is_late(github: GitHub) -> None:
    gh, repo, url = built_site(github, "late")
    pushed = silent_push(github, "late")  # no build comes: the page stays v1
    github.sandbox("DELETE", "requests")
    probe = PageProbe(url, b"v2", cache_key=pushed[:12])
    status, polls, commit = wait_for_build(gh, repo, pushed, deadline=time.time() + 60, page=probe,
                                           first_check=1.0, nudge_after=1.0)
    assert status in ("live", "built") and commit == pushed and 1 <= polls <= 3
    routes = [c["route"] for c in github.sandbox("GET", "requests").json()]
    assert routes.count("POST /repos/{owner}/{repo}/pages/builds") == 1
    assert probe.requests >= 2  # the page was asked first, and kept being asked


def test_the_cdn_answer_says_how_long_it_is_kept() -> None:
    assert cached_for({"Cache-Control": "max-age=600", "Age": "580"}) == 20
    assert cached_for({"Cache-Control": "max-age=600", "Age": "700"}) == 0
    assert cached_for({"Cache-Control": "max-age=60"}) == 60
    assert cached_for({"Cache-Control": "max-age=60", "Age": "soon"}) == 60
    assert cached_for({}) == 5


class Cdn:
    """Pages' CDN holding the previous round's page for `left` more seconds of a fake clock (the outside world)."""

    def __init__(self, left: float) -> None:
        self.now, self.until, self.gets = 1000.0, 1000.0 + left, 0

    def get(self, url: str, timeout: float) -> requests.Response:
        self.gets += 1
        response = requests.Response()
        response.status_code = 200
        fresh = self.now >= self.until
        response._content = b"new" if fresh else b"old"
        response.headers.update({"Cache-Control": "max-age=600", "Age": str(int(600 - (self.until - self.now)))})
        return response

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_the_plain_url_is_waited_for_until_the_cdn_lets_the_old_page_go() -> None:
    cdn, said = Cdn(left=42), []
    gets = wait_plain_url("https://o.github.io/r/", b"new", deadline=cdn.now + 600, log=said.append,
                          session=cdn, clock=lambda: cdn.now, sleep=cdn.sleep)  # type: ignore[arg-type]
    assert gets == cdn.gets == 2 and cdn.now >= cdn.until
    assert said == ["https://o.github.io/r/ without a query string serves what Pages' CDN cached before this round "
                    "(HTTP 200): waiting 42 s for it to expire, so the evaluator sees this round"]


def test_past_the_deadline_the_round_is_notified_anyway_with_a_warning() -> None:
    cdn, said = Cdn(left=500), []
    gets = wait_plain_url("https://o.github.io/r/", b"new", deadline=cdn.now + 100, log=said.append,
                          session=cdn, clock=lambda: cdn.now, sleep=cdn.sleep)  # type: ignore[arg-type]
    assert gets == 1 and cdn.now == 1000.0
    assert len(said) == 1 and said[0].startswith("::warning::") and "notifying anyway" in said[0]


def test_the_page_is_told_apart_by_a_file_this_round_changed() -> None:
    assert probe_path({"index.html", "app.js"}) == "index.html"
    assert probe_path({"app.js", "data/x.json", ".deployer/brief.json"}) == "app.js"  # index.html unchanged
    assert probe_path({".deployer/brief.json", ".nojekyll"}) == "index.html"  # nothing served changed
    assert probe_path(set()) == "index.html"


def test_a_round_that_changes_only_a_script_waits_for_its_build(github: GitHub) -> None:
    gh, repo, url = built_site(github, "script")
    before = call(github, "GET", "/repos/sandbox/script/pages/builds/latest").json()["commit"]
    put_file(github, "script", "app.js", b"v2 of the script")  # index.html stays "v1": it cannot tell the rounds apart
    head = call(github, "GET", "/repos/sandbox/script/commits/main").json()["sha"]
    assert head != before
    probe = PageProbe(f"{url}{probe_path({'app.js'})}", b"v2 of the script", cache_key=head[:12])
    status, _, commit = wait_for_build(gh, repo, head, deadline=time.time() + 60, page=probe)
    assert (status, commit) == ("live", head)
    assert requests.get(f"{url}app.js", params={"fresh": head}, timeout=10).content == b"v2 of the script"
    assert requests.get(url, params={"fresh": head}, timeout=10).content == b"v1"
