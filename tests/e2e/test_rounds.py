"""Later rounds end to end: round 1 then round 2 of one task as `deployer run` processes against the emulator,
the stand-in and the evaluator; and two rounds racing."""

from __future__ import annotations

import json
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from action.plan import trailers
from tests.e2e.conftest import Deployer, sample
from tests.e2e.test_action_run import clone, dispatch_event, log_of


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def blobs(repo: Path, commit: str) -> dict[str, str]:
    """path -> blob sha of a commit (`git ls-tree`)."""
    entries = git(repo, "ls-tree", "-r", commit).splitlines()
    return {line.split("\t", 1)[1]: line.split()[2] for line in entries}


def test_round_one_then_round_two_edits_the_same_repository(deployer: Deployer, tmp_path: Path) -> None:
    r1 = sample("sum-of-sales.r1.json", deployer.evaluator.notify_url)
    r2 = sample("sum-of-sales.r2.json", deployer.evaluator.notify_url)
    first = deployer.run("repository_dispatch", dispatch_event(r1))
    assert first.returncode == 0, first.stdout + first.stderr
    asked_in_round_one = len(deployer.openrouter.generation_requests())
    second = deployer.run("repository_dispatch", dispatch_event(r2))
    assert second.returncode == 0, second.stdout + second.stderr
    sha1, sha2 = first.outputs["commit-sha"], second.outputs["commit-sha"]
    assert sha1 != sha2 and second.outputs["repo-url"] == first.outputs["repo-url"]

    repo = clone(f"{second.outputs['repo-url']}.git", tmp_path / "clone")
    ours = [e for e in log_of(repo) if trailers(e).get("Deployer-Task") == r1["task"]]
    assert [e.split("\x00")[0] for e in ours] == [sha2, sha1]
    found = trailers(ours[0])
    assert found.pop("Deployer-Claim").startswith("run ")  # the run that made it notifies it
    assert found == {"Deployer-Task": r2["task"], "Deployer-Round": "2", "Deployer-Nonce": r2["nonce"]}
    assert git(repo, "rev-parse", f"{sha2}^").strip() == sha1

    before, after = blobs(repo, sha1), blobs(repo, sha2)
    assert set(before) == set(after)
    changed = {path for path in after if after[path] != before[path]}
    assert changed == {"index.html", "script.js", "README.md", ".deployer/brief.json"}
    for untouched in ("style.css", "data.csv", "LICENSE"):
        assert after[untouched] == before[untouched]
    print(git(repo, "diff", sha1, sha2, "--", "index.html", "script.js"))

    index = (repo / "index.html").read_text()
    assert 'id="product-sales"' in index and 'id="total-sales">5109.25<' in index
    assert "<title>Sales Summary iklj4</title>" in index
    readme = (repo / "README.md").read_text()
    assert r1["brief"][:40] in readme and "Changes asked for in round 2" in readme and r2["brief"][:40] in readme
    assert [r["round"] for r in json.loads((repo / ".deployer/brief.json").read_text())["rounds"]] == [1, 2]

    notes = [n["body"] for n in deployer.evaluator.notifications()]
    assert [(n["round"], n["nonce"], n["commit_sha"]) for n in notes] == [(1, r1["nonce"], sha1),
                                                                          (2, r2["nonce"], sha2)]
    page = requests.get(second.outputs["pages-url"], timeout=10)
    assert page.status_code == 200 and page.content == (repo / "index.html").read_bytes()
    assert b"product-sales" in page.content
    requests_seen = deployer.openrouter.requests()
    # Round 2's first ask (a check repair, when the varied stand-in typed a figure in, comes after it).
    first_ask = deployer.openrouter.generation_requests()[asked_in_round_one]
    edit_request = [m for m in first_ask["body"]["messages"] if m["role"] == "user"][-1]["content"][0]["text"]
    assert "SEARCH/REPLACE" in edit_request and 'name="data.csv" media-type="text/csv" round="1"' in edit_request

    # Round 2 again: nothing new is committed, and the evaluator is not told a second time.
    again = deployer.run("repository_dispatch", dispatch_event(r2))
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.outputs["commit-sha"] == sha2 and "already commit" in again.summary
    assert "already notified at " in again.summary
    git(repo, "pull", "--quiet")
    assert git(repo, "rev-parse", "HEAD").strip() == sha2
    assert [n["body"] for n in deployer.evaluator.notifications()] == notes
    assert len(deployer.openrouter.requests()) == len(requests_seen)


def test_round_two_without_a_repository_builds_it_fresh_and_says_so(deployer: Deployer) -> None:
    r2 = sample("sum-of-sales.r2.json", deployer.evaluator.notify_url)
    result = deployer.run("repository_dispatch", dispatch_event(r2))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "does not exist: building it fresh" in result.summary
    note = deployer.evaluator.notifications()[0]["body"]
    assert (note["round"], note["nonce"], note["commit_sha"]) == (2, r2["nonce"], result.outputs["commit-sha"])


@pytest.mark.parametrize("slow_first_round", [False, True], ids=["together", "round-2-publishes-first"])
def test_rounds_one_and_two_racing_make_one_repository_and_lose_no_round(
    deployer: Deployer, tmp_path: Path, slow_first_round: bool,
) -> None:
    """Both runs start together, so both may create the repository and commit on GitHub's initial commit; the one
    whose ref update loses starts its round again on top of the winner's commit (action/main.py). With round 1's
    model slowed down, round 2 (built fresh) publishes first and round 1 is then applied on top of it as an edit."""
    r1 = sample("sum-of-sales.r1.json", deployer.evaluator.notify_url)
    r2 = sample("sum-of-sales.r2.json", deployer.evaluator.notify_url)
    quick = {"DEPLOYER_VERIFY": "0"}  # the browser checks are not what this test is about
    env = [{**quick, "DEPLOYER_MODEL": "sandbox/slow"}, quick]
    if slow_first_round:
        deployer.openrouter.script({"model": "sandbox/slow", "content": None, "delay": 15})
    runners = [Deployer(deployer.github, deployer.openrouter, deployer.evaluator, tmp_path / f"runner-{n}")
               for n in (1, 2)]  # one work directory each: their event and output files must not collide
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(runners[0].run, "repository_dispatch", dispatch_event(r1), extra_env=env[0])
        if slow_first_round:  # round 1 has seen no repository and waits for its model: now round 2 starts
            while not any(r["body"]["model"] == "sandbox/slow" for r in deployer.openrouter.requests()):
                time.sleep(0.1)
        second = pool.submit(runners[1].run, "repository_dispatch", dispatch_event(r2), extra_env=env[1])
        runs = [first.result(), second.result()]
    for run in runs:
        assert run.returncode == 0, run.stdout + run.stderr
    creations = [c["status"] for c in deployer.github.sandbox("GET", "requests").json()
                 if c["route"] == "POST /user/repos"]
    assert creations.count(201) == 1 and set(creations) <= {201, 422}  # a second attempt finds the first repo

    repo = clone(f"{runs[0].outputs['repo-url']}.git", tmp_path / "clone")
    ours = [e for e in log_of(repo) if trailers(e).get("Deployer-Task") == r1["task"]]
    rounds = [trailers(e)["Deployer-Round"] for e in ours]
    assert sorted(rounds) == ["1", "2"] and len(log_of(repo)) == 3  # auto_init, then one commit per round
    head, below = (e.split("\x00")[0] for e in ours)
    assert git(repo, "rev-parse", f"{head}^").strip() == below
    assert {run.outputs["commit-sha"] for run in runs} == {head, below}
    meta = json.loads((repo / ".deployer/brief.json").read_text())
    assert sorted(r["round"] for r in meta["rounds"]) == [1, 2]
    notes = sorted((n["body"]["round"], n["body"]["nonce"], n["body"]["commit_sha"])
                   for n in deployer.evaluator.notifications())
    assert notes == [(1, r1["nonce"], runs[0].outputs["commit-sha"]), (2, r2["nonce"], runs[1].outputs["commit-sha"])]
    retried = [run for run in runs if "starting the round again" in run.summary]
    print(f"race: round {rounds[-1]} committed first; {len(retried)} run(s) started again on top of it")
    if slow_first_round:
        assert rounds == ["1", "2"] and retried == [runs[0]]
        index = (repo / "index.html").read_text()
        assert 'id="product-sales"' in index and 'id="total-sales">5109.25<' in index
