"""The sandbox's GitHub Actions: each dispatch the emulator receives starts the matching workflows, as on GitHub.

It polls the emulator's record of dispatches and registers a workflow run for each in the emulator at once, titled
by the workflow's `run-name` (so `GET .../actions/runs` shows it, queued, before any runner is free, as on GitHub);
then a worker thread clones the target repository over smart HTTP (as a runner's `actions/checkout` would) and runs
the workflow with the local runner, several at once, under one concurrency registry (so `concurrency:` groups queue
runs as GitHub does). Secrets reach the runs only through the runner's `secrets`
context, never through this process's environment of the steps.

`deployer sandbox actions` serves its runs over HTTP for people and the demo: `GET /runs` and
`GET /runs/{n}/log?offset=K` (the masked log, as GitHub shows it while a run goes on) and `GET /runs/{n}/summary`
(each job's summary, as the run's page shows it). `uses: owner/repo@ref` actions are fetched from the emulator
(`runner.remote.RemoteActionResolver`, one cache for all runs). `actions/cache/restore|save` keep their entries in
`<data>/caches`, shared by every run as one repository's caches are on GitHub.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from aiohttp import web

from action.clone import git_auth_env
from deployer.serving import base_url, bind_socket, run_servers
from sandbox.runner.commands import Annotation
from sandbox.runner.concurrency import ConcurrencyRegistry
from sandbox.runner.remote import RemoteActionResolver
from sandbox.runner.results import RunResult
from sandbox.runner.run import (
    RunOptions,
    dispatch_titles,
    push_payload,
    run_dispatch,
    run_workflow,
    workflows_for_event,
)
from sandbox.runner.workflow import WorkflowError, load_workflow

SECRET_LIKE = frozenset({"SHARED_SECRET", "GITHUB_PAT", "OPENROUTER_API_KEY", "DEPLOYER_GITHUB_TOKEN",
                         "DEPLOYER_OPENROUTER_API_KEY"})


@dataclass
class RunRecord:
    number: int
    dispatch: dict[str, Any]
    emulator_run_id: int | None = None
    status: str = "queued"  # queued | in_progress | completed
    conclusion: str | None = None
    error: str | None = None
    log: list[str] = field(default_factory=list)
    summaries: list[dict[str, str]] = field(default_factory=list)  # {"workflow", "job", "summary"} per job
    jobs: list[dict[str, Any]] = field(default_factory=list)  # what the emulator shows at actions/runs/{id}/jobs
    started: float = field(default_factory=time.time)
    finished: float | None = None

    def summary(self) -> dict[str, Any]:
        d = self.dispatch
        return {
            "number": self.number, "run_id": self.emulator_run_id, "repository": f"{d.get('owner')}/{d.get('repo')}",
            "event": d.get("kind"), "event_type": d.get("event_type"), "status": self.status,
            "conclusion": self.conclusion, "error": self.error, "log_lines": len(self.log),
            "started": self.started, "finished": self.finished,
        }


@dataclass
class ActionsConfig:
    api_url: str
    server_url: str
    token: str = field(repr=False)
    secrets: Mapping[str, str] = field(repr=False)
    work_dir: Path
    max_parallel: int = 4
    run_timeout: float = 600.0
    poll_interval: float = 0.2
    machine_env: Mapping[str, str] | None = None
    ignore_pushes_of: frozenset[str] = frozenset()  # owner/repo whose pushes start nothing (this project's own CI)


class ActionsService:
    def __init__(self, config: ActionsConfig):
        self.config = config
        self.runs: list[RunRecord] = []
        self.registry = ConcurrencyRegistry()
        self.pool = ThreadPoolExecutor(max_workers=config.max_parallel, thread_name_prefix="run")
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"token {config.token}"
        self.seen = 0
        self.pushes_seen = 0
        self.lock = threading.Lock()
        self.app_tasks: list[asyncio.Task[None]] = []  # kept referenced so the poller is not collected
        self.resolver = RemoteActionResolver(config.server_url, config.work_dir / "actions-cache",
                                             git_auth_env(config.token))

    def poll_once(self) -> int:
        """Start a run for each dispatch recorded since the last poll, and consider each push; the number of
        dispatches started."""
        records = self.http.get(f"{self.config.api_url}/_sandbox/dispatches", timeout=10).json()
        fresh = records[self.seen:]
        self.seen = len(records)
        checkouts: dict[tuple[str, str], tuple[Path, str]] = {}
        for record in fresh:
            with self.lock:
                run = RunRecord(len(self.runs) + 1, record)
                self.runs.append(run)
            self.register(run, checkouts)
            self.pool.submit(self.execute, run)
        pushes = self.http.get(f"{self.config.api_url}/_sandbox/pushes", timeout=10).json()
        for push in pushes[self.pushes_seen:]:
            if f"{push['owner']}/{push['repo']}".lower() not in self.config.ignore_pushes_of:
                self.pool.submit(self.consider_push, push)
        self.pushes_seen = len(pushes)
        return len(fresh)

    def register(self, run: RunRecord, checkouts: dict[tuple[str, str], tuple[Path, str]]) -> None:
        """Create the run as GitHub does when the event arrives, titled by the workflow's `run-name` at the default
        branch's head (`checkouts`: one up-to-date checkout per repository and poll). A run that cannot be titled is
        registered later by `execute`, under a plain name."""
        d = run.dispatch
        key = (str(d.get("owner")), str(d.get("repo")))
        try:
            if key not in checkouts:
                checkouts[key] = self.workflow_checkout(*key)
            repo_dir, branch = checkouts[key]
            titles = dispatch_titles(repo_dir, d, RunOptions(env=self.config.machine_env), default_branch=branch)
        except (requests.RequestException, subprocess.SubprocessError, WorkflowError, KeyError) as exc:
            run.log.append(f"##[warning]could not title the run when it was created: {exc}")
            return
        if titles:  # no matching workflow: GitHub creates no run
            path, title = titles[0]
            self.emulator_run(run, head_branch=branch, path=path, display_title=title,
                              name=load_workflow(repo_dir, path).name)

    def repo_info(self, owner: str, repo: str, *, limit: float = 15.0) -> dict[str, Any]:
        """The repository as the REST API shows it. GitHub's own Actions never reads it through the API, so it never
        sees the API's creation lag (a new repository reading as 404 for seconds): this service waits it out."""
        until = time.monotonic() + limit
        while True:
            answer = self.http.get(f"{self.config.api_url}/repos/{owner}/{repo}", timeout=10)
            if answer.status_code != 404 or time.monotonic() >= until:
                answer.raise_for_status()
                return dict(answer.json())
            time.sleep(0.2)

    def workflow_checkout(self, owner: str, repo: str) -> tuple[Path, str]:
        """A checkout of the repository's default branch as it is now, and that branch's name (one per repository,
        fetched again for each poll that brings its dispatches)."""
        info = self.repo_info(owner, repo)
        branch = info.get("default_branch", "main")
        where = self.config.work_dir / "workflows" / owner / repo
        git_env = {**os.environ, **git_auth_env(self.config.token)}
        if not (where / ".git").exists():
            clone(info["clone_url"], self.config.token, branch, where)
        else:
            subprocess.run(["git", "-C", str(where), "fetch", "--quiet", "origin", branch], check=True,
                           capture_output=True, env=git_env, timeout=120)
            subprocess.run(["git", "-C", str(where), "checkout", "--quiet", "-B", branch, "FETCH_HEAD"], check=True,
                           capture_output=True, timeout=60)
        return where, branch

    def consider_push(self, push: dict[str, Any]) -> None:
        """GitHub starts a run per workflow whose `on.push` matches, and nothing (no run at all) otherwise."""
        if not str(push.get("ref", "")).startswith(("refs/heads/", "refs/tags/")) or set(push["after"]) == {"0"}:
            return
        if not push.get("has_workflows") or not push.get("starts_workflows", True):
            return  # a push made with a run's GITHUB_TOKEN starts no run (the emulator says so)
        repo = self.repo_info(push["owner"], push["repo"])
        with self.lock:
            scratch = self.config.work_dir / f"push-{len(self.runs) + 1}-{push['after'][:12]}"
        repo_dir = scratch / "repo"
        branch = push["ref"].removeprefix("refs/heads/") if push["ref"].startswith("refs/heads/") else None
        clone(repo["clone_url"], self.config.token, branch or repo.get("default_branch", "main"), repo_dir)
        subprocess.run(["git", "-C", str(repo_dir), "fetch", "--quiet", "origin", push["after"]], check=False,
                       capture_output=True, env={**os.environ, **git_auth_env(self.config.token)}, timeout=120)
        subprocess.run(["git", "-C", str(repo_dir), "checkout", "--quiet", "-B",
                        branch or repo.get("default_branch", "main"), push["after"]], check=True, capture_output=True)
        payload = push_payload(repo_dir, push, self.config.api_url, self.config.server_url,
                               repo.get("default_branch", "main"))
        for path in workflows_for_event(repo_dir, "push", payload):
            with self.lock:
                run = RunRecord(len(self.runs) + 1, {**push, "kind": "push", "workflow_path": path})
                self.runs.append(run)
            self.execute_push(run, repo_dir, path, payload)

    def execute_push(self, run: RunRecord, repo_dir: Path, path: str, payload: dict[str, Any]) -> None:
        d = run.dispatch
        try:
            workflow = load_workflow(repo_dir, path)
            message = subprocess.run(["git", "-C", str(repo_dir), "log", "-1", "--format=%s", d["after"]],
                                     capture_output=True, text=True, check=False).stdout.strip()
            answer = self.http.post(f"{self.config.api_url}/_sandbox/runs", json={
                "owner": d["owner"], "repo": d["repo"], "event": "push", "status": "in_progress",
                "name": workflow.name, "path": path, "head_sha": d["after"],
                "head_branch": d["ref"].split("/", 2)[-1], "display_title": message or workflow.name,
            }, timeout=10)
            run.emulator_run_id = answer.json().get("id") if answer.ok else None
            run.status = "in_progress"
            with self.job_token(d["owner"], d["repo"]) as token:
                options = self.run_options(run, self.config.work_dir / f"run-{run.number}" / "runner", token)
                result = run_workflow(repo_dir, path, "push", payload, options=options)
            run.summaries = [{"workflow": result.workflow, "job": job_id, "summary": job.summary}
                             for job_id, job in result.jobs.items()]
            run.jobs = jobs_of([result])
            run.conclusion = result.conclusion
        except Exception as exc:  # a run that cannot start is a failed run, never a dead service
            run.conclusion, run.error = "failure", f"{type(exc).__name__}: {exc}"
            run.log.append(f"##[error]{run.error}")
        finally:
            run.status, run.finished = "completed", time.time()
            if run.emulator_run_id is not None:
                with contextlib.suppress(requests.RequestException):
                    self.emulator_run(run, status="completed", conclusion=run.conclusion, jobs=run.jobs)

    def run_options(self, run: RunRecord, runner_root: Path, token: str) -> RunOptions:
        """One run's options: the service's secrets, machine, concurrency groups, actions and cache store; `token`
        is the run's GITHUB_TOKEN (a job token the emulator revokes when the run ends)."""
        return RunOptions(
            secrets=dict(self.config.secrets), env=self.config.machine_env, token=token,
            runner_root=runner_root, concurrency=self.registry, timeout=self.config.run_timeout,
            on_log=run.log.append, run_id=run.emulator_run_id, resolver=self.resolver,
            cache_dir=self.config.work_dir / "caches",
        )

    def emulator_run(self, run: RunRecord, **fields: Any) -> None:
        d = run.dispatch
        if run.emulator_run_id is None:
            body = {"owner": d["owner"], "repo": d["repo"], "event": d.get("kind"), "status": "queued",
                    "name": "deploy", "display_title": d.get("event_type") or d.get("workflow_id") or "run", **fields}
            answer = self.http.post(f"{self.config.api_url}/_sandbox/runs", json=body, timeout=10)
            if answer.ok:
                run.emulator_run_id = answer.json().get("id")
            return
        self.http.patch(f"{self.config.api_url}/_sandbox/runs/{run.emulator_run_id}", json=fields, timeout=10)

    def execute(self, run: RunRecord) -> None:
        d = run.dispatch
        root = self.config.work_dir / f"run-{run.number}"
        try:
            repo = self.repo_info(d["owner"], d["repo"])
            branch = repo.get("default_branch", "main")
            self.emulator_run(run, head_branch=branch)
            repo_dir = root / "repo"
            clone(repo["clone_url"], self.config.token, branch, repo_dir)
            run.status = "in_progress"
            self.emulator_run(run, status="in_progress", head_sha=git_head(repo_dir))
            with self.job_token(d["owner"], d["repo"]) as token:
                results = run_dispatch(repo_dir, d, self.run_options(run, root / "runner", token),
                                       default_branch=branch)
            run.summaries = [{"workflow": r.workflow, "job": job_id, "summary": job.summary}
                             for r in results for job_id, job in r.jobs.items()]
            run.jobs = jobs_of(results)
            conclusions = {r.conclusion for r in results}
            run.conclusion = "success" if conclusions <= {"success"} else (
                "failure" if "failure" in conclusions else sorted(conclusions)[0])
            if not results:
                run.conclusion, run.error = "skipped", "no workflow matches this event"
        except Exception as exc:  # a run that cannot start is a failed run, never a dead service
            run.conclusion, run.error = "failure", f"{type(exc).__name__}: {exc}"
            run.log.append(f"##[error]{run.error}")
        finally:
            run.status, run.finished = "completed", time.time()
            with contextlib.suppress(requests.RequestException):
                self.emulator_run(run, status="completed", conclusion=run.conclusion, jobs=run.jobs)

    @contextlib.contextmanager
    def job_token(self, owner: str, repo: str) -> Iterator[str]:
        """The run's GITHUB_TOKEN, minted by the emulator for this repository only and revoked when the run ends
        ("The GITHUB_TOKEN expires when a job finishes", docs.github.com)."""
        answer = self.http.post(f"{self.config.api_url}/_sandbox/job-tokens", json={"owner": owner, "repo": repo},
                                timeout=10)
        answer.raise_for_status()
        token = str(answer.json()["token"])
        try:
            yield token
        finally:
            with contextlib.suppress(requests.RequestException):
                self.http.delete(f"{self.config.api_url}/_sandbox/job-tokens", json={"token": token}, timeout=10)

    async def poll_forever(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.poll_once)
            except requests.RequestException as exc:
                print(f"actions: cannot read dispatches from {self.config.api_url}: {exc}", flush=True)
            await asyncio.sleep(self.config.poll_interval)

    def app(self) -> web.Application:
        app = web.Application()

        async def list_runs(_: web.Request) -> web.Response:
            return web.json_response([r.summary() for r in self.runs])

        async def run_log(request: web.Request) -> web.Response:
            number = int(request.match_info["number"])
            if not 1 <= number <= len(self.runs):
                return web.json_response({"error": "no such run"}, status=404)
            run = self.runs[number - 1]
            offset = int(request.query.get("offset", "0"))
            return web.json_response({**run.summary(), "lines": run.log[offset:], "next": len(run.log)})

        async def run_summary(request: web.Request) -> web.Response:
            number = int(request.match_info["number"])
            if not 1 <= number <= len(self.runs):
                return web.json_response({"error": "no such run"}, status=404)
            return web.json_response(self.runs[number - 1].summaries)

        app.router.add_get("/runs", list_runs)
        app.router.add_get(r"/runs/{number:\d+}/log", run_log)
        app.router.add_get(r"/runs/{number:\d+}/summary", run_summary)
        return app


def jobs_of(results: list[RunResult]) -> list[dict[str, Any]]:
    """The jobs of finished runs, with their steps and `::error`/`::warning`/`::notice` annotations, as the
    emulator's `/_sandbox/runs` takes them."""
    def annotation(a: Annotation) -> dict[str, Any]:
        props = a.properties
        numbers = {key: int(props[name]) for key, name in (("line", "line"), ("end_line", "endLine"),
                                                          ("col", "col"), ("end_column", "endColumn"))
                   if props.get(name, "").isdigit()}
        return {"level": a.level, "message": a.message, "title": props.get("title"), "file": props.get("file"),
                **numbers}

    return [{"name": job.name, "status": "completed", "conclusion": job.conclusion,
             "steps": [{"name": s.name, "conclusion": s.conclusion} for s in job.steps],
             "annotations": [annotation(a) for a in job.annotations]}
            for result in results for job in result.jobs.values()]


def clone(clone_url: str, token: str, branch: str, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["git", "clone", "--quiet", "--branch", branch, clone_url, str(dest)], check=True, capture_output=True,
        env={**os.environ, **git_auth_env(token)}, timeout=120,
    )


def git_head(repo_dir: Path) -> str:
    return subprocess.run(["git", "-C", str(repo_dir), "rev-parse", "HEAD"], check=True, capture_output=True,
                          text=True).stdout.strip()


def machine_env(env: Mapping[str, str], secret_names: set[str], info: Mapping[str, str]) -> dict[str, str]:
    """The runner machine's environment, as a self-hosted runner passes it on: ours, less the secrets and less
    the GITHUB_*/RUNNER_* variables the runner sets itself (certificates, proxies and locale come along)."""
    kept = {k: v for k, v in env.items()
            if k not in secret_names and k not in SECRET_LIKE and not k.startswith(("GITHUB_", "RUNNER_"))}
    return {**kept, "GITHUB_API_URL": info["api_url"], "GITHUB_SERVER_URL": info["server_url"]}


def main(args: argparse.Namespace) -> int:
    """`deployer sandbox actions`: secrets are named here and read from this process's environment."""
    missing = [name for name in [args.token_env, *args.secret] if not os.environ.get(name)]
    if missing:
        print(f"error: set {', '.join(missing)} in the environment (named by --token-env / --secret)", flush=True)
        return 2
    info = requests.get(f"{args.github.rstrip('/')}/_sandbox/info", timeout=10).json()
    config = ActionsConfig(
        api_url=info["api_url"], server_url=info["server_url"], token=os.environ[args.token_env],
        secrets={name: os.environ[name] for name in args.secret}, work_dir=Path(args.data),
        max_parallel=args.max_parallel, run_timeout=args.run_timeout,
        machine_env=machine_env(os.environ, {args.token_env, *args.secret}, info),
        ignore_pushes_of=frozenset(r.lower() for r in args.ignore_pushes_of),
    )
    service = ActionsService(config)

    async def make() -> tuple[list[tuple[web.Application, socket.socket]], str]:
        sock = bind_socket(args.host, args.port)
        poller = asyncio.get_running_loop().create_task(service.poll_forever())
        service.app_tasks.append(poller)
        return [(service.app(), sock)], base_url(sock)

    try:
        return run_servers(make)
    finally:
        service.pool.shutdown(wait=False, cancel_futures=True)
