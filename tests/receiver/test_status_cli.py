"""`deployer status` against a real receiver whose dispatches cannot reach GitHub (so its briefs stay in flight):
the table, one brief's timeline, and each way it can go wrong named in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from receiver_support import SECRET, closed_port_url, make_brief, post, wait_for

from sandbox.procs import Service


def status(url: str, *args: str, secret: str | None = SECRET) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SHARED_SECRET", "RECEIVER_URL")}
    env.update(RECEIVER_URL=url, PYTHONIOENCODING="ascii")  # a terminal without UTF-8: plain marks
    if secret is not None:
        env["SHARED_SECRET"] = secret
    return subprocess.run([sys.executable, "-m", "deployer", "status", *args], env=env, capture_output=True,
                          text=True, timeout=60)


def test_the_table_and_one_briefs_timeline(live: tuple[Service, Path]) -> None:
    svc, _ = live
    brief_id = post(svc.url, make_brief(task="cli-task")).json()["id"]
    other = post(svc.url, make_brief(task="cli-other")).json()["id"]

    def retried() -> str | None:
        shown = status(svc.url, brief_id)
        return shown.stdout if "dispatch attempt" in shown.stdout else None

    timeline = wait_for(retried, what="a failed dispatch attempt")
    assert timeline.startswith(f"brief {brief_id}: cli-task round 1, in flight")
    assert "  > dispatched active    retrying after" in timeline and "  . notified   waiting" in timeline
    assert "timeline (UTC):" in timeline and "accepted: cli-task, round 1" in timeline
    table = status(svc.url, "--task", "cli-task")
    assert table.returncode == 0
    header, *rows = table.stdout.splitlines()
    assert header.split()[:5] == ["ID", "TASK", "ROUND", "ACCEPTED", "(UTC)"]
    assert [row.split()[0] for row in rows] == [brief_id] and other not in table.stdout
    assert "+accepted >dispatched .run .published .live .notified" in rows[0]
    assert status(svc.url, "--state", "failed", "--task", "cli-task").stdout.strip() == "no briefs yet"


def test_each_failure_is_one_line_and_a_nonzero_exit(live: tuple[Service, Path]) -> None:
    svc, _ = live
    missing = status(svc.url, secret=None)
    assert missing.returncode == 2 and "set SHARED_SECRET" in missing.stderr
    wrong = status(svc.url, secret="not-the-secret")
    assert wrong.returncode == 1 and "refused SHARED_SECRET (HTTP 401)" in wrong.stderr
    assert "not-the-secret" not in wrong.stderr + wrong.stdout
    unknown = status(svc.url, "f" * 28)
    assert unknown.returncode == 1 and "HTTP 404: no brief with this id" in unknown.stderr
    down = status(closed_port_url())
    assert down.returncode == 1 and "no receiver at" in down.stderr and "RECEIVER_URL" in down.stderr
    for done in (missing, wrong, unknown, down):
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
