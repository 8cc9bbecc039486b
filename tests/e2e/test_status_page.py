"""Issue 19 end to end: two briefs through the whole sandbox, watched on the status page in Chromium and with
`deployer status`. One succeeds; the other's run fails (GitHub refuses to enable Pages for its repository), and the
page shows where, with the run's error line. The page updates by itself (its script polls the JSON feed): the test
never reloads it, it waits for the DOM to change."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Page, sync_playwright

from action.verify.browser import BROWSER_ARGS
from sandbox.world import World
from tests.e2e.conftest import sample
from tests.verify.support import require_browser

pytestmark = pytest.mark.e2e
STEPS = ("accepted", "dispatched", "run", "published", "live", "notified")
RUN_TIMEOUT_MS = 240_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    path = require_browser()
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=path, headless=True, args=list(BROWSER_ARGS))
        yield chromium
        chromium.close()


def brief(world: World, task: str) -> dict[str, Any]:
    data = sample("sum-of-sales.r1.json", f"{world.evaluator_url}/notify")
    data.update(task=task, nonce=uuid.uuid4().hex, checks=[], secret=world.shared_secret)
    return data


def send(world: World, data: dict[str, Any]) -> str:
    answer = requests.post(f"{world.receiver_url}/api-endpoint", json=data, timeout=30)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["id"])


def row_states(page: Page, brief_id: str) -> tuple[str, ...]:
    """The brief's row as the page shows it now: its state, then each step's state."""
    return tuple(page.evaluate(
        """id => { const row = document.querySelector(`li.brief[data-id="${id}"]`);
                   if (!row) return [];
                   const steps = [...row.querySelectorAll("li.step")];
                   return [row.dataset.state, ...steps.map(s => s.dataset.step + ":" + s.dataset.state)]; }""",
        brief_id))


def status_cli(world: World, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RECEIVER_URL": world.receiver_url, "SHARED_SECRET": world.shared_secret,
           "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([sys.executable, "-m", "deployer", "status", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_two_briefs_on_the_status_page_and_in_the_terminal(world: World, browser: Browser, tmp_path: Path) -> None:
    ok_task, bad_task = f"status-ok-{uuid.uuid4().hex[:6]}", f"status-bad-{uuid.uuid4().hex[:6]}"
    # Injected by the test: every attempt to enable Pages for the second repository is refused; and both commits'
    # trees, and the first repository's Pages, answer 3 s late, so that the page, polling every 2 s, sees those
    # stages under way however fast the machine is.
    for fault in ({"path": f"POST /repos/{world.user}/{bad_task}/pages", "status": 422, "count": 10},
                  {"path": f"POST /repos/{world.user}/{bad_task}/git/trees", "delay": 3, "count": 1},
                  {"path": f"POST /repos/{world.user}/{ok_task}/git/trees", "delay": 3, "count": 1},
                  {"path": f"POST /repos/{world.user}/{ok_task}/pages", "delay": 3, "count": 1}):
        armed = requests.post(f"{world.api_url}/_sandbox/faults", timeout=10, json=fault)
        assert armed.status_code < 300, armed.text

    page = browser.new_page(viewport={"width": 1100, "height": 900})
    errors: list[tuple[str, str]] = []  # (URL, text) of every console error, to check the status page's own
    page.on("console", lambda m: errors.append((m.location.get("url", ""), m.text)) if m.type == "error" else None)
    first = page.goto(f"{world.receiver_url}/status")
    assert first is not None and first.status == 401
    page.fill("#secret", world.shared_secret)
    page.click("main.login button[type=submit]")
    page.wait_for_selector("main[data-feed] h1")
    assert page.url == f"{world.receiver_url}/status"

    ok_id, bad_id = send(world, brief(world, ok_task)), send(world, brief(world, bad_task))
    page.goto(f"{world.receiver_url}/status")  # once, to list the two new briefs; from here on it refreshes itself
    seen: dict[str, list[tuple[str, ...]]] = {ok_id: [], bad_id: []}
    deadline = time.monotonic() + RUN_TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        for brief_id, states in seen.items():
            now = row_states(page, brief_id)
            if now and (not states or states[-1] != now):
                states.append(now)
        if all(states and states[-1][0] != "in_flight" for states in seen.values()):
            break
        page.wait_for_timeout(200)
    ok_final, bad_final = seen[ok_id][-1], seen[bad_id][-1]
    print(f"states seen on the page: {json.dumps(seen, indent=1)}")
    assert ok_final == ("succeeded", *(f"{s}:done" for s in STEPS))
    assert bad_final == ("failed", "accepted:done", "dispatched:done", "run:done", "published:done", "live:failed",
                         "notified:waiting")
    # Each was seen moving: publishing, then (the one that succeeds) going live, before it ended.
    assert any("published:active" in s for s in seen[bad_id]), seen[bad_id]
    publishing = next(i for i, s in enumerate(seen[ok_id]) if "published:active" in s)
    assert any("live:active" in s for s in seen[ok_id][publishing:]), seen[ok_id]
    assert all(s[0] == "in_flight" for states in seen.values() for s in states[:-1])
    error = page.inner_text(f'li.brief[data-id="{bad_id}"] .error')
    assert error.startswith("pages stage failed:") and "422" in error
    assert page.get_attribute("main[data-feed]", "data-in-flight") == "false"
    shot = tmp_path / "status-page.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot of the status page: {shot}")

    page.click(f'li.brief[data-id="{ok_id}"] a.task')
    page.wait_for_selector("ol.timeline")
    timeline = page.inner_text("ol.timeline")
    for line in ("accepted: ", "dispatched to GitHub", "publish succeeded", "notify succeeded", "run succeeded"):
        assert line in timeline, line
    assert page.inner_text(".notification") == "evaluator answered: after 1 attempt(s), HTTP 200"
    links = {name: page.get_attribute(f'a[data-link="{name}"]', "href") for name in ("page", "repository", "run")}
    assert links["page"] == world.site(ok_task)
    assert links["repository"] == f"{world.server_url}/{world.user}/{ok_task}"
    detail_shot = tmp_path / "status-detail.png"
    page.screenshot(path=str(detail_shot), full_page=True)
    print(f"screenshot of a brief's timeline: {detail_shot}")
    with page.expect_navigation() as landed:
        page.click('a[data-link="page"]')
    assert landed.value is not None and landed.value.status == 200 and page.url == links["page"]
    assert "Sales Summary" in page.title()
    ours = [(url, text) for url, text in errors if url.startswith(world.receiver_url)
            and not url.endswith("/favicon.ico") and "status of 401" not in text]  # the login page's own 401
    assert not ours, ours

    # Without credentials: 401, and the served bytes hold no brief, secret or token.
    payloads = [d["client_payload"] for d in requests.get(f"{world.api_url}/_sandbox/dispatches", timeout=10).json()]
    tokens = [p["report_token"] for p in payloads if "report_token" in p]
    assert len(tokens) >= 2
    for path in ("/status", f"/status/briefs/{ok_id}", "/briefs", f"/briefs/{bad_id}/story"):
        anonymous = requests.get(f"{world.receiver_url}{path}", timeout=10)
        assert anonymous.status_code == 401, path
        for leak in (world.shared_secret, world.token, ok_task, bad_task, "sums its sales column", *tokens):
            assert leak.encode() not in anonymous.content, (path, leak)

    table = status_cli(world)
    assert table.returncode == 0, table.stderr
    rows = {line.split()[1]: line for line in table.stdout.splitlines() if line.split()[:1] in ([ok_id], [bad_id])}
    assert "succeeded" in rows[ok_task] and "✓notified" in rows[ok_task]
    assert "FAILED" in rows[bad_task] and "✗live" in rows[bad_task]
    assert "error: pages stage failed:" in table.stdout
    one = status_cli(world, bad_id)
    assert one.returncode == 1  # the brief asked for failed
    assert f"brief {bad_id}: {bad_task} round 1, FAILED" in one.stdout
    assert "✗ live       failed" in one.stdout and "pages stage failed:" in one.stdout
    assert "timeline (UTC):" in one.stdout and "publish succeeded" in one.stdout
    watched = status_cli(world, ok_id, "--watch")
    assert watched.returncode == 0 and f"  page        {links['page']}" in watched.stdout
    for output in (table.stdout, one.stdout, watched.stdout):
        assert world.shared_secret not in output and not any(token in output for token in tokens)
