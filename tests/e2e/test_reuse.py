"""The action reused from another repository, as its users will: `uses: sandbox/llm-pages-deployer@v1`.

The world publishes this project into the emulated GitHub and releases it (`v1`, `v<version>`). Consumer
repositories hold nothing but the workflow `deployer init` writes; a repository_dispatch shaped like the receiver's
starts it; the local runner fetches the action from the emulator by tag or SHA and runs it in a workspace without
a checkout; the page goes live, and the workflow's later step puts `pages-url` into the job summary.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from deployer import ACTION_MAJOR_TAG, __version__
from deployer.dispatch_payload import Inline, request_body
from sandbox.demo import SAMPLES, reuse_instructions
from sandbox.world import DEPLOYER_REPO, World

RUN_TIMEOUT = 240.0


def api(world: World, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    answer = requests.request(method, f"{world.api_url}{path}", json=body, timeout=30,
                              headers={"Authorization": f"token {world.token}"})
    assert answer.ok, (method, path, answer.status_code, answer.text)
    return answer.json() if answer.content else None


def tag_sha(world: World, tag: str) -> str:
    return api(world, "GET", f"/repos/{world.deployer_repo}/git/ref/tags/{tag}")["object"]["sha"]


def init_workflow(tmp_path: Path, owner: str, ref: str) -> tuple[str, str]:
    """(path, text) of the workflow `deployer init --owner OWNER --ref REF` writes."""
    tmp_path.mkdir(exist_ok=True)
    done = subprocess.run([sys.executable, "-m", "deployer", "init", str(tmp_path), "--owner", owner, "--ref", ref],
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    path = ".github/workflows/deploy-pages-brief.yml"
    return path, (tmp_path / path).read_text()


def consumer_repo(world: World, name: str, workflow: tuple[str, str]) -> None:
    """A repository in the emulator whose only file is the workflow."""
    api(world, "POST", "/user/repos", {"name": name, "private": False})
    path, text = workflow
    api(world, "PUT", f"/repos/{world.user}/{name}/contents/{path}",
        {"message": "Deploy briefs with llm-pages-deployer", "content": base64.b64encode(text.encode()).decode()})


def dispatch_brief(world: World, repo: str, task: str) -> dict[str, Any]:
    """What the receiver sends: the brief (without its secret) nested under `brief`."""
    brief = json.loads((SAMPLES / "sum-of-sales.r1.json").read_text())
    brief.pop("secret")
    brief.update(task=task, nonce=f"nonce-{task}", evaluation_url=f"{world.evaluator_url}/notify")
    api(world, "POST", f"/repos/{world.user}/{repo}/dispatches",
        request_body(Inline(f"brief-{task}", datetime.now(UTC).isoformat(), brief)))
    return brief


def finished_run(world: World, repo: str) -> dict[str, Any]:
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        runs = requests.get(f"{world.actions_url}/runs", timeout=10).json()
        done = [r for r in runs if r["repository"] == f"{world.user}/{repo}" and r["status"] == "completed"]
        if done:
            return done[0]
        time.sleep(0.5)
    raise AssertionError(f"no finished run for {repo} within {RUN_TIMEOUT}s")


def run_log(world: World, number: int) -> list[str]:
    return requests.get(f"{world.actions_url}/runs/{number}/log", timeout=10).json()["lines"]


def test_the_project_is_released_as_v1_and_its_version(world: World) -> None:
    head = api(world, "GET", f"/repos/{world.deployer_repo}/git/ref/heads/main")["object"]["sha"]
    assert tag_sha(world, ACTION_MAJOR_TAG) == tag_sha(world, f"v{__version__}") == head


def test_consumer_repositories_run_the_action_by_tag_and_by_sha(world: World, tmp_path: Path) -> None:
    sha = tag_sha(world, ACTION_MAJOR_TAG)
    consumers = {"uses-v1": ACTION_MAJOR_TAG, "uses-version": f"v{__version__}", "uses-sha": sha}
    briefs = {}
    for repo, ref in consumers.items():
        consumer_repo(world, repo, init_workflow(tmp_path / repo, world.user, ref))
        briefs[repo] = dispatch_brief(world, repo, task=f"reuse-{repo}")

    for repo, ref in consumers.items():
        run = finished_run(world, repo)
        log = run_log(world, run["number"])
        assert run["conclusion"] == "success", (repo, run, [line for line in log if "error" in line.lower()][-10:])
        assert f"##[group]Run {world.user}/{DEPLOYER_REPO}@{ref}" in log  # the step as GitHub shows it

        brief = briefs[repo]
        notes = [n["body"] for n in requests.get(f"{world.evaluator_url}/notifications", timeout=10).json()
                 if n["body"]["task"] == brief["task"]]
        assert len(notes) == 1 and notes[0]["nonce"] == brief["nonce"]
        pages_url = notes[0]["pages_url"]
        assert pages_url == world.site(brief["task"])
        assert requests.get(pages_url, timeout=10).status_code == 200

        # the consumer workflow's later step read the action's outputs into the job summary
        summaries = requests.get(f"{world.actions_url}/runs/{run['number']}/summary", timeout=10).json()
        assert [(s["workflow"], s["job"]) for s in summaries] == [(".github/workflows/deploy-pages-brief.yml",
                                                                   "deploy")]
        summary = summaries[0]["summary"]
        assert f"pages-url: {pages_url}\n" in summary
        assert f"repo-url: {notes[0]['repo_url']}\n" in summary
        assert f"commit-sha: {notes[0]['commit_sha']}\n" in summary
        shown = "\n".join(log) + summary
        assert [what for what, value in world.secret_values.items() if value in shown] == []

    # every reference resolved to the released commit, fetched once into the runner's action cache
    cache = world.root / "actions" / "actions-cache" / world.user / DEPLOYER_REPO
    assert sorted(p.name for p in cache.iterdir() if p.name != "mirror.git") == [sha]
    assert (cache / sha / "action.yml").is_file()


def test_a_consumer_pinned_to_a_version_that_does_not_exist_fails_clearly(world: World, tmp_path: Path) -> None:
    consumer_repo(world, "uses-missing", init_workflow(tmp_path, world.user, "v9.9.9"))
    dispatch_brief(world, "uses-missing", task="reuse-missing")

    run = finished_run(world, "uses-missing")
    assert run["conclusion"] == "failure"
    expected = (f"Unable to resolve action `{world.user}/{DEPLOYER_REPO}@v9.9.9`, unable to find version "
                "`v9.9.9`")
    assert any(expected in line for line in run_log(world, run["number"]))


def test_the_printed_instructions_of_publish_self_work_as_written(world: World, tmp_path: Path) -> None:
    lines = reuse_instructions(world, tmp_path / "consumer")
    commands = [line.removeprefix("  $ ") for line in lines if line.startswith("  $ ")]
    assert commands and commands[0].startswith("mkdir -p ")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-e", "-c", "\n".join(commands)], capture_output=True, text=True, timeout=180,
                          env=env)
    assert done.returncode == 0, done.stderr

    run = finished_run(world, "my-briefs")
    assert run["conclusion"] == "success", run_log(world, run["number"])[-20:]
    notes = requests.get(f"{world.evaluator_url}/notifications", timeout=10).json()
    assert [n["body"]["task"] for n in notes].count("my-first-brief") == 1


def test_deployer_sandbox_publish_self_prints_how_to_use_it_and_stops_cleanly() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "deployer", "sandbox", "--publish-self"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    seen: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            seen.append(line)
            if line.startswith("serving until Ctrl-C"):
                break
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, "".join(seen)
    finally:
        if proc.poll() is None:
            proc.kill()
    out = "".join(seen)
    assert f"tagged {ACTION_MAJOR_TAG} and v{__version__}" in out
    assert "deployer init" in out and "--owner sandbox" in out and "/dispatches -d" in out
    assert "all rounds notified" not in out  # no demo brief was sent
