"""`deployer sandbox`: for now, the GitHub/Pages part of the demo only.

Starts the GitHub emulator as a real process, then does what the action will do, with PyGithub: create a
repository, commit a page through the Git Data API, enable Pages, wait for the build, fetch the page. Each step
prints its timing; any failure is one clear line and a non-zero exit. The receiver, the action, the OpenRouter
stand-in and the evaluator join this demo when the end-to-end flow exists.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import requests
from github import Auth, Github, GithubException, InputGitTreeElement
from github.Repository import Repository

from sandbox.procs import Service, ServiceError, deployer_argv, start_service

T = TypeVar("T")
REPO = "sandbox-demo"
PAGE = b"<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>sandbox demo</title></head>\n" \
       b"<body><h1>Hello from the sandbox</h1></body></html>\n"
STEPS = ("start emulator", "create repository", "commit page", "enable pages", "wait for build", "fetch page")


class DemoFailed(RuntimeError):
    pass


def main(args: argparse.Namespace) -> int:
    print("deployer sandbox: GitHub/Pages part only (emulator + Pages host); the receiver, action, OpenRouter "
          "stand-in and evaluator are not part of this demo yet", flush=True)
    started = time.monotonic()

    def step(name: str, run: Callable[[], tuple[T, str]]) -> T:
        t0 = time.monotonic()
        try:
            value, detail = run()
        except (GithubException, requests.RequestException, ServiceError, DemoFailed, OSError) as exc:
            raise DemoFailed(f"step '{name}' failed: {exc}") from exc
        print(f"[{time.monotonic() - started:6.2f}s] {name}: {detail} ({time.monotonic() - t0:.2f}s)", flush=True)
        return value

    with tempfile.TemporaryDirectory(prefix="deployer-sandbox-") as tmp:
        service = None
        try:
            service = step("start emulator", lambda: _start(Path(tmp), args.build_delay))
            info = requests.get(f"{service.url}/_sandbox/info", timeout=10).json()
            user = info["users"][0]
            gh = Github(base_url=service.url, auth=Auth.Token(user["token"]), retry=None,
                        seconds_between_requests=0, seconds_between_writes=0)
            repo = step("create repository", lambda: _created(gh))
            sha = step("commit page", lambda: _commit(repo))
            html_url = step("enable pages", lambda: _enable(repo))
            step("wait for build", lambda: _wait(repo, sha, deadline=max(30.0, args.build_delay * 10)))
            step("fetch page", lambda: _fetch(html_url))
            print(f"ok: {html_url} serves commit {sha[:12]} ({time.monotonic() - started:.2f}s in all)", flush=True)
            if args.serve:
                print(f"serving: GitHub API {service.url}, Pages {info['pages_url']}; Ctrl-C to stop", flush=True)
                service.proc.wait()
            return 0
        except DemoFailed as exc:
            print(f"error: {exc}", flush=True)
            if service is not None:
                print(f"emulator log: {service.log_path}", flush=True)
            return 1
        except KeyboardInterrupt:
            return 130
        finally:
            if service is not None:
                service.stop()


def _start(tmp: Path, build_delay: float) -> tuple[Service, str]:
    service = start_service(
        "github", deployer_argv("sandbox", "github", "--port", "0", "--pages-port", "0", "--build-delay",
                                str(build_delay), "--data", str(tmp / "repos")),
        log_dir=tmp / "logs",
    )
    return service, f"REST API at {service.url}"


def _created(gh: Github) -> tuple[Repository, str]:
    repo = gh.get_user().create_repo(REPO, auto_init=True, description="llm-pages-deployer sandbox demo")
    return repo, f"{repo.full_name} ({repo.clone_url})"


def _commit(repo: Repository) -> tuple[str, str]:
    ref = repo.get_git_ref(f"heads/{repo.default_branch}")
    base = repo.get_git_commit(ref.object.sha)
    tree = repo.create_git_tree([InputGitTreeElement("index.html", "100644", "blob", content=PAGE.decode())],
                                base_tree=base.tree)
    commit = repo.create_git_commit("Add the demo page", tree, [base])
    ref.edit(commit.sha)
    return commit.sha, f"index.html in commit {commit.sha[:12]}"


def _enable(repo: Repository) -> tuple[str, str]:
    _, page = repo._requester.requestJsonAndCheck(
        "POST", f"{repo.url}/pages", input={"source": {"branch": repo.default_branch, "path": "/"}})
    return page["html_url"], f"html_url {page['html_url']}"


def _wait(repo: Repository, sha: str, deadline: float) -> tuple[None, str]:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        _, build = repo._requester.requestJsonAndCheck("GET", f"{repo.url}/pages/builds/latest")
        if build["commit"] == sha and build["status"] == "built":
            return None, f"built {sha[:12]}"
        if build["commit"] == sha and build["status"] == "errored":
            raise DemoFailed(f"the Pages build errored: {build['error']['message']}")
        time.sleep(0.1)
    raise DemoFailed(f"no Pages build of {sha[:12]} within {deadline:.0f}s")


def _fetch(url: str) -> tuple[None, str]:
    r = requests.get(url, timeout=10)
    if r.status_code != 200 or r.content != PAGE:
        raise DemoFailed(f"{url} answered {r.status_code} with {len(r.content)} bytes, not the committed page")
    return None, f"200, {len(r.content)} bytes, identical to the commit"
