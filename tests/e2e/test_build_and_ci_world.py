"""Build scripts and CI workflows through the whole sandbox: a brief POSTed to the receiver, dispatched, run by
the local runner (deploy.yml -> action.yml -> deployer run), whose build script fetches data.sec.gov from the
fixtures through the runner machine's build proxy, and whose generated CI workflow the same Actions service runs
on the push of our commit; the evaluator is notified only after that run succeeded."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import requests

from sandbox.world import World
from tests.e2e.test_build_and_ci import BUILD, CI, CONCEPT, PAGE, files_answer

EXECUTE = "import json\n\nprint(json.dumps({'answer': 42}))\n"


def post(world: World, brief: dict[str, Any]) -> None:
    answer = requests.post(f"{world.receiver_url}/api-endpoint", json={**brief, "secret": world.shared_secret},
                           timeout=10)
    assert answer.status_code == 200, answer.text


def notification(world: World, task: str, timeout: float = 420) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [n for n in requests.get(f"{world.evaluator_url}/notifications", timeout=10).json()
                 if n["body"]["task"] == task]
        if found:
            return found[0]
        time.sleep(1)
    runs = requests.get(f"{world.actions_url}/runs", timeout=10).json()
    logs = [line for run in runs
            for line in requests.get(f"{world.actions_url}/runs/{run['number']}/log", timeout=10).json()["lines"]]
    raise AssertionError(f"no notification for {task}; runs: {runs}\n" + "\n".join(logs[-80:]))


def script(world: World, *answers: dict[str, str]) -> None:
    base = world.openrouter_url.removesuffix("/api/v1")
    requests.post(f"{base}/_sandbox/script", json={"responses": list(answers)}, timeout=10).raise_for_status()


def brief(world: World, task: str, text: str) -> dict[str, Any]:
    return {"email": "student@example.com", "task": task, "round": 1, "nonce": f"{task}-1", "brief": text,
            "checks": [], "evaluation_url": f"{world.evaluator_url}/notify", "attachments": []}


def test_a_build_script_fetches_sec_data_through_the_sandbox(world: World) -> None:
    script(world, files_answer({"index.html": PAGE, "build.py": BUILD % (CONCEPT, "shares")}))
    post(world, brief(world, "world-sec", f"Fetch https://data.sec.gov{CONCEPT}, save data.json with the max and "
                                          "min after 2020 and render index.html from it."))
    note = notification(world, "world-sec")["body"]
    data = requests.get(f"{note['pages_url']}data.json", timeout=10).json()
    assert data["entityName"] == "Apple Inc." and data["max"]["val"] >= data["min"]["val"]
    fetched = requests.get(f"{world.fixtures_url}/_sandbox/requests", timeout=10).json()
    assert {"path": CONCEPT, "status": 200} in [{"path": r["path"], "status": r["status"]} for r in fetched]


def test_a_generated_ci_workflow_runs_on_our_commit_before_the_notification(world: World) -> None:
    page = "<!doctype html>\n<html><head><title>Answer</title></head>\n<body>\n<p>result.json</p>\n</body></html>\n"
    script(world, files_answer({"index.html": page, "execute.py": EXECUTE, ".github/workflows/ci.yml": CI}))
    post(world, brief(world, "world-ci", "Write execute.py printing JSON, add .github/workflows/ci.yml that runs "
                                         "ruff and `python execute.py > result.json` and publishes result.json on "
                                         "GitHub Pages; do not commit result.json."))
    note = notification(world, "world-ci")
    sha = note["body"]["commit_sha"]
    runs = requests.get(f"{world.api_url}/repos/{world.user}/world-ci/actions/runs", params={"head_sha": sha},
                        headers={"Authorization": f"token {world.token}"}, timeout=10).json()["workflow_runs"]
    assert [(r["event"], r["path"], r["conclusion"]) for r in runs] == [("push", ".github/workflows/ci.yml",
                                                                         "success")]
    finished = datetime.fromisoformat(runs[0]["updated_at"].replace("Z", "+00:00")).timestamp()
    assert note["received_ts"] >= finished
    assert requests.get(f"{note['body']['pages_url']}result.json", timeout=10).json() == {"answer": 42}
    committed = requests.get(f"{world.api_url}/repos/{world.user}/world-ci/contents/result.json", params={"ref": sha},
                             headers={"Authorization": f"token {world.token}"}, timeout=10)
    assert committed.status_code == 404  # served by Pages, not in git
    log = "\n".join(line for run in requests.get(f"{world.actions_url}/runs", timeout=10).json()
                    if run["event"] == "push"
                    for line in requests.get(f"{world.actions_url}/runs/{run['number']}/log", timeout=10).json()[
                        "lines"])
    assert "ruff check execute.py" in log and "python execute.py > result.json" in log
