"""`deployer sandbox`: the whole system on this machine, one brief followed from POST to a live page.

It starts the world (sandbox/world.py), POSTs each round's brief to the real receiver, and prints every stage
as it happens, each observed from outside as a user would see it: the receiver's answer and dispatch state, the
run in GitHub Actions and its log, the Pages host, the evaluator. It exits 0 once every round is notified and
its page answers 200, or 1 naming the stage that did not come.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shlex
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from deployer import ACTION_MAJOR_TAG, __version__
from deployer.send import SendError, describe_error, load_brief, post_brief
from sandbox.world import World, WorldError, start_world

SAMPLES = Path(__file__).resolve().parent / "briefs"
DEFAULT_ROUNDS = ("sum-of-sales.r1.json", "sum-of-sales.r2.json")
ROUND_TIMEOUT = 240.0
# What the action prints when a stage is done (action/main.py), as GitHub shows it in the run's log.
LOG_STAGES = (("generated", "generated "), ("committed", "commit "), ("Pages built", "Pages build built"),
              ("live", " is live ("))


class DemoFailed(RuntimeError):
    pass


@dataclass
class RoundResult:
    brief: dict[str, Any]
    brief_id: str
    notification: dict[str, Any]
    stages: dict[str, float] = field(default_factory=dict)
    run_number: int | None = None
    grading: list[dict[str, Any]] = field(default_factory=list)


class Clock:
    def __init__(self, out: Callable[[str], None]):
        self.start = time.monotonic()
        self.out = out

    def stage(self, name: str, detail: str) -> float:
        elapsed = time.monotonic() - self.start
        self.out(f"[{elapsed:7.2f}s] {name:<12} {detail}")
        return elapsed


def wait_for(what: str, probe: Callable[[], Any], deadline: float, interval: float = 0.1) -> Any:
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise DemoFailed(f"timed out waiting for: {what}")
        time.sleep(interval)


def follow_round(world: World, brief: dict[str, Any], clock: Clock) -> RoundResult:
    """POST one brief and print each stage of its way to a live, notified page."""
    deadline = time.monotonic() + ROUND_TIMEOUT
    runs_before = len(requests.get(f"{world.actions_url}/runs", timeout=10).json())
    status, answer = post_brief(f"{world.receiver_url}/api-endpoint", brief)
    if status != 200:
        raise DemoFailed(describe_error(status, answer))
    # The evaluator grades as graders do: it runs this round's checks (and earlier rounds') on the live page.
    requests.post(f"{world.evaluator_url}/_sandbox/checks", timeout=10, json={
        "task": brief["task"], "round": brief["round"], "checks": brief.get("checks", []),
        "attachments": [a["name"] for a in brief.get("attachments", [])],
    }).raise_for_status()
    result = RoundResult(brief, answer["id"], {})
    task, rnd = brief["task"], brief["round"]
    result.stages["accepted"] = clock.stage("accepted", f"brief {answer['id']} ({task}, round {rnd}): {answer}")
    auth = {"Authorization": f"Bearer {world.shared_secret}"}

    def dispatched() -> dict[str, Any] | None:
        state = requests.get(f"{world.receiver_url}/briefs/{answer['id']}", headers=auth, timeout=10).json()
        if state.get("state") == "failed":
            raise DemoFailed(f"the receiver could not dispatch the brief: {state.get('last_error')}")
        return state if state.get("state") == "dispatched" else None

    wait_for("the receiver to dispatch the brief", dispatched, deadline)
    result.stages["dispatched"] = clock.stage("dispatched", f"repository_dispatch to {world.deployer_repo}")

    def run_started() -> dict[str, Any] | None:
        runs = requests.get(f"{world.actions_url}/runs", timeout=10).json()
        return runs[runs_before] if len(runs) > runs_before else None

    run = wait_for("GitHub Actions to start a run", run_started, deadline)
    result.run_number = run["number"]
    result.stages["run started"] = clock.stage("run started", f"run {run['run_id']} of deploy.yml")
    seen: list[str] = []
    pending = list(LOG_STAGES)
    offset = 0

    def read_log() -> dict[str, Any]:
        nonlocal offset
        log = requests.get(f"{world.actions_url}/runs/{run['number']}/log", params={"offset": offset},
                           timeout=10).json()
        offset = log["next"]
        for line in log["lines"]:
            seen.append(line)
            if pending and pending[0][1] in line:
                name, _ = pending.pop(0)
                result.stages[name] = clock.stage(name, line.strip())
        return log

    def notified() -> dict[str, Any] | None:
        log = read_log()
        for note in requests.get(f"{world.evaluator_url}/notifications", timeout=10).json():
            if note["body"].get("nonce") == brief["nonce"]:
                read_log()  # the stages the run logged since the last read
                return note
        if log["status"] == "completed" and log["conclusion"] != "success":
            errors = [line for line in seen if "error" in line.lower()][-5:]
            raise DemoFailed(f"the deploy run ended with {log['conclusion']}:\n  " + "\n  ".join(errors))
        return None

    note = wait_for("the evaluator's notification", notified, deadline, interval=0.2)
    result.notification = note["body"]
    result.stages["notified"] = clock.stage("notified", f"{note['path']} {json.dumps(note['body'])}")
    page = requests.get(note["body"]["pages_url"], timeout=10)
    if page.status_code != 200:
        raise DemoFailed(f"the page {note['body']['pages_url']} answers HTTP {page.status_code}")

    def finished() -> dict[str, Any] | None:
        log = read_log()
        return log if log["status"] == "completed" else None

    final = wait_for("the deploy run to finish", finished, deadline, interval=0.2)
    if final["conclusion"] != "success":
        raise DemoFailed(f"the deploy run ended with {final['conclusion']} after notifying")
    result.stages["finished"] = clock.stage("finished", f"run {run['run_id']}: {final['conclusion']}")

    def graded() -> dict[str, Any] | None:
        for entry in requests.get(f"{world.evaluator_url}/notifications", timeout=10).json():
            checks = entry.get("checks") or {}
            if entry["body"].get("nonce") == brief["nonce"] and checks.get("state") in ("done", "failed"):
                return checks
        return None

    grading = wait_for("the evaluator's checks of the live page", graded, deadline, interval=0.2)
    result.grading = grading.get("results", [])
    passed = sum(1 for r in result.grading if r.get("outcome") == "passed")
    runnable = sum(1 for r in result.grading if r.get("outcome") not in ("skipped", "not-checkable"))
    detail = f"{passed}/{runnable} checks passed on the live page" + (
        f" ({grading.get('error')})" if grading.get("state") == "failed" else "")
    result.stages["graded"] = clock.stage("graded", detail)
    return result


def round_briefs(args: argparse.Namespace) -> list[Path]:
    if args.brief:
        return [Path(args.brief)]
    if not 1 <= args.rounds <= len(DEFAULT_ROUNDS):
        raise DemoFailed(f"--rounds must be 1..{len(DEFAULT_ROUNDS)} for the bundled sample (or use --brief FILE)")
    return [SAMPLES / name for name in DEFAULT_ROUNDS[: args.rounds]]


def run_demo(world: World, files: list[Path], out: Callable[[str], None] = print) -> list[RoundResult]:
    clock = Clock(out)
    results = []
    for path in files:
        brief = load_brief(path)
        brief["secret"] = world.shared_secret
        brief["evaluation_url"] = f"{world.evaluator_url}/notify"
        result = follow_round(world, brief, clock)
        note = result.notification
        out(f"           repository   {note['repo_url']}  (git clone {note['repo_url']}.git)")
        out(f"           page         {note['pages_url']}")
        results.append(result)
    return results


# GitHub as it behaves, but Pages' CDN keeps a page 60 s, not GitHub's 600: round 2 is notified only once the page
# its grader saw in round 1 has left the CDN (action/pages.py wait_plain_url), and ten minutes of that is no demo.
DEMO_GITHUB = ("--cdn-max-age", "60")


def main(args: argparse.Namespace) -> int:
    try:
        files = round_briefs(args)
        for path in files:
            load_brief(path)  # a file that is not a brief fails here, before anything starts
    except (DemoFailed, SendError) as exc:
        print(f"error: {exc}", flush=True)
        return 1
    with tempfile.TemporaryDirectory(prefix="deployer-sandbox-") as tmp:
        print("deployer sandbox: starting GitHub (emulated), Pages, OpenRouter, the evaluator, GitHub Actions "
              "and the receiver on 127.0.0.1", flush=True)
        try:
            world = start_world(Path(tmp), build_delay=args.build_delay, github_args=DEMO_GITHUB)
        except WorldError as exc:
            print(f"error: {exc}", flush=True)
            return 1
        try:
            llm = "real OpenRouter (OPENROUTER_API_KEY is set)" if world.real_openrouter else "the OpenRouter stand-in"
            print(f"generation: {llm}", flush=True)
            if args.publish_self:
                print("\n".join(reuse_instructions(world, Path(tmp) / "consumer")), flush=True)
                serve(world)
                return 0
            run_demo(world, files, out=lambda line: print(line, flush=True))
            print("all rounds notified and live", flush=True)
            if args.serve:
                serve(world)
            return 0
        except (DemoFailed, SendError, requests.RequestException) as exc:
            print(f"error: {exc}", flush=True)
            print(f"logs of every part: {world.root / 'logs'} (kept until exit)", flush=True)
            return 1
        finally:
            world.stop()


def reuse_instructions(world: World, consumer_dir: Path) -> list[str]:
    """How to run the published action from another repository of the emulated GitHub, as shell commands."""
    tags = requests.get(f"{world.api_url}/repos/{world.deployer_repo}/git/ref/tags/{ACTION_MAJOR_TAG}",
                        headers={"Authorization": f"token {world.token}"}, timeout=10).json()
    sha = tags["object"]["sha"]
    auth = f'-H "Authorization: token {world.token}"'
    workflow = consumer_dir / ".github" / "workflows" / "deploy-pages-brief.yml"
    brief = load_brief(SAMPLES / DEFAULT_ROUNDS[0])
    brief.pop("secret", None)
    brief.update(task="my-first-brief", evaluation_url=f"{world.evaluator_url}/notify")
    # no accepted_at: the action's notification deadline then counts from the run's start
    dispatch = {"event_type": "deploy-brief", "client_payload": {"id": "manual-1", "brief": brief}}
    repo_api = f"{world.api_url}/repos/{world.user}/my-briefs"
    put_body = '"{\\"message\\": \\"deploy briefs\\", \\"content\\": \\"$content\\"}"'
    return [
        f"published    {world.deployer_repo} at {sha}, tagged {ACTION_MAJOR_TAG} and v{__version__}",
        f"             git clone {world.server_url}/{world.deployer_repo}.git",
        "use it from another repository (runs there get the secrets DEPLOYER_GITHUB_TOKEN, OPENROUTER_API_KEY and "
        "OPENROUTER_BASE_URL):",
        f"  $ mkdir -p {consumer_dir} && deployer init {consumer_dir} --owner {world.user}",
        f"""  $ curl -sf {auth} -d '{{"name": "my-briefs"}}' {world.api_url}/user/repos""",
        f"  $ content=$(base64 < {workflow} | tr -d '\\n')",
        f"  $ curl -sf -X PUT {auth} {repo_api}/contents/.github/workflows/{workflow.name} -d {put_body}",
        f"  $ curl -sf {auth} {repo_api}/dispatches -d {shlex.quote(json.dumps(dispatch))}",
        f"then watch {world.actions_url}/runs and {world.evaluator_url}/notifications",
    ]


def serve(world: World) -> None:
    print(f"receiver     {world.receiver_url}/api-endpoint (SHARED_SECRET={world.shared_secret})")
    print(f"status page  {world.receiver_url}/status  (log in with that SHARED_SECRET; or in a terminal: "
          f"RECEIVER_URL={world.receiver_url} SHARED_SECRET=... deployer status)")
    print(f"GitHub API   {world.api_url}  (token {world.token})")
    print(f"Pages        {world.site('<repo>')}  (the {world.user}.github.io of the sandbox)")
    print(f"Actions      {world.actions_url}/runs")
    print(f"evaluator    {world.evaluator_url}/notifications")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())  # before the line a supervisor may answer with SIGTERM
    print("serving until Ctrl-C", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
