"""The Quick start's first command end to end: receiver, dispatch, Actions, action, GitHub, Pages, evaluator.

Everything runs as real processes on 127.0.0.1, with random secrets per world so a leak is easy to find: every log
line of every part, every run log, every dispatch payload, every prompt and every git object of every repository
is searched for them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from action.plan import trailers
from sandbox.demo import DEFAULT_ROUNDS, SAMPLES, run_demo
from sandbox.world import World

STAGES = ("accepted", "dispatched", "run started", "generated", "committed", "Pages built", "live", "notified",
          "finished", "graded")


def git_objects(bare: Path) -> bytes:
    """Every object of a repository, decompressed: all history, not only the files at its head."""
    return subprocess.run(["git", "--git-dir", str(bare), "cat-file", "--batch-all-objects", "--batch"],
                          capture_output=True, check=True).stdout


def test_two_rounds_from_post_to_live_page(world: World, tmp_path: Path) -> None:
    lines: list[str] = []
    results = run_demo(world, [SAMPLES / name for name in DEFAULT_ROUNDS], out=lines.append)
    for result in results:
        assert list(result.stages) == list(STAGES), result.stages
        runnable = [r for r in result.grading if r["outcome"] not in ("skipped", "not-checkable")]
        assert runnable and all(r["outcome"] == "passed" for r in runnable), result.grading
        assert result.stages["notified"] >= result.stages["live"] >= result.stages["committed"]
    assert len(results[1].grading) > len(results[0].grading)  # round 1's checks are graded again in round 2

    r1, r2 = (r.notification for r in results)
    for result, note in zip(results, (r1, r2), strict=True):
        brief = result.brief
        assert note == {
            "email": brief["email"], "task": brief["task"], "round": brief["round"], "nonce": brief["nonce"],
            "repo_url": f"{world.server_url}/{world.user}/{brief['task']}", "commit_sha": note["commit_sha"],
            "pages_url": world.site(brief["task"]),
        }
    notes = requests.get(f"{world.evaluator_url}/notifications", timeout=10).json()
    assert [n["body"] for n in notes] == [r1, r2]  # each round notified exactly once

    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", f"{r2['repo_url']}.git", str(clone)], check=True)
    log = subprocess.run(["git", "-C", str(clone), "log", "--format=%H %P%x00%B%x01"], capture_output=True,
                         text=True, check=True).stdout
    commits = [entry.strip("\n").split("\x00") for entry in log.split("\x01") if entry.strip()]
    ours = [(shas.split(), trailers(message)) for shas, message in commits if "Deployer-Round" in message]
    assert [t["Deployer-Round"] for _, t in ours] == ["2", "1"]
    assert ours[0][0] == [r2["commit_sha"], r1["commit_sha"]]  # round 2's parent is round 1

    page = requests.get(r2["pages_url"], timeout=10)
    assert page.status_code == 200 and page.content == (clone / "index.html").read_bytes()
    assert 'id="product-sales"' in page.text and "Sales Summary iklj4" in page.text

    runs = requests.get(f"{world.api_url}/repos/{world.deployer_repo}/actions/runs",
                        headers={"Authorization": f"token {world.token}"}, timeout=10).json()
    assert [r["conclusion"] for r in runs["workflow_runs"]] == ["success", "success"]

    # No secret anywhere: logs of every process, run logs, dispatches, prompts, every git object.
    haystacks: dict[str, bytes] = {p.name: p.read_bytes() for p in (world.root / "logs").glob("*.log")}
    haystacks["demo output"] = "\n".join(lines).encode()
    for run in requests.get(f"{world.actions_url}/runs", timeout=10).json():
        text = requests.get(f"{world.actions_url}/runs/{run['number']}/log", timeout=10).json()["lines"]
        haystacks[f"run {run['number']} log"] = "\n".join(text).encode()
    haystacks["dispatches"] = requests.get(f"{world.api_url}/_sandbox/dispatches", timeout=10).content
    haystacks["prompts"] = requests.get(f"{world.openrouter_url.removesuffix('/api/v1')}/_sandbox/requests",
                                        timeout=10).content
    for bare in (world.root / "github").glob("*/*.git"):
        haystacks[f"git {bare.parent.name}/{bare.name}"] = git_objects(bare)
    assert any(name.startswith("git sandbox/sum-of-sales") for name in haystacks)
    leaks = [(what, where) for what, value in world.secret_values.items()
             for where, data in haystacks.items() if value.encode() in data]
    assert leaks == []
    dispatches = json.loads(haystacks["dispatches"])
    assert dispatches and all("secret" not in json.dumps(d["client_payload"]) for d in dispatches)


def test_a_brief_the_receiver_refuses_is_reported_clearly(world: World, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"task": "../up", "round": 0, "brief": "x"}))
    with pytest.raises(Exception, match=r"HTTP 400 invalid_brief.*email: is required.*task.*round"):
        run_demo(world, [bad], out=lambda _line: None)
    sent = subprocess.run([sys.executable, "-m", "deployer", "send", str(bad), "--url",
                           f"{world.receiver_url}/api-endpoint"], capture_output=True, text=True, timeout=60,
                          env={"SHARED_SECRET": world.shared_secret, "PATH": "/usr/bin:/bin"})
    assert sent.returncode == 1
    assert "HTTP 400 invalid_brief" in sent.stderr and "email: is required" in sent.stderr
    assert "Traceback" not in sent.stderr


def test_deployer_send_names_a_receiver_that_is_down_and_a_file_that_is_not_json(tmp_path: Path) -> None:
    brief = tmp_path / "brief.json"
    brief.write_text((SAMPLES / "sum-of-sales.r1.json").read_text())
    down = subprocess.run([sys.executable, "-m", "deployer", "send", str(brief), "--url",
                           "http://127.0.0.1:9/api-endpoint"], capture_output=True, text=True, timeout=60)
    assert down.returncode == 1 and "no receiver at http://127.0.0.1:9/api-endpoint" in down.stderr
    junk = tmp_path / "junk.json"
    junk.write_text("{not json")
    for argv in (["send", str(junk)], ["sandbox", "--brief", str(junk)]):
        done = subprocess.run([sys.executable, "-m", "deployer", *argv], capture_output=True, text=True, timeout=60)
        assert done.returncode == 1, argv
        assert "is not JSON" in done.stdout + done.stderr and "Traceback" not in done.stdout + done.stderr


def test_quick_start_command_exits_zero_and_prints_every_stage() -> None:
    done = subprocess.run([sys.executable, "-m", "deployer", "sandbox", "--build-delay", "0.5"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    for stage in STAGES:
        assert f"] {stage} " in done.stdout, stage
    assert "all rounds notified and live" in done.stdout
