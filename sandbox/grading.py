"""The evaluator's grading: the checks a grader sent with each brief, run on the notified live page.

A grader knows its own checks, so the test (or the demo) registers them with `POST /_sandbox/checks {"task",
"round", "checks", "attachments"?}`, the way the real grader keeps what it sent; the evaluator does not read them
from the deployed repository, which could say anything. On each accepted notification for a registered task, the
checks of that round and of every earlier registered round run on `pages_url` in headless Chromium, through the
action's own runner started as a process (`python -m action.verify URL --local-only`: the sandbox never imports
the action). The notification entry carries `"checks": {"state": "running" | "done" | "failed", "results": [...],
"error"?}`; results are `{"index", "check", "kind", "outcome", "detail"}` as that command prints them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from dataclasses import dataclass, field
from typing import Any

RUN_TIMEOUT_S = 180.0


@dataclass
class Grader:
    registered: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def register(self, body: object) -> str | None:
        """Store `{"task", "round", "checks", "attachments"?}`; the reason when the body is not that shape."""
        if not isinstance(body, dict):
            return "body must be a JSON object"
        task, rnd = body.get("task"), body.get("round")
        checks, attachments = body.get("checks"), body.get("attachments", [])
        if not isinstance(task, str) or not task:
            return "task must be a non-empty string"
        if isinstance(rnd, bool) or not isinstance(rnd, int) or rnd < 1:
            return "round must be an integer >= 1"
        if not isinstance(checks, list):
            return "checks must be a list"
        if not isinstance(attachments, list) or not all(isinstance(a, str) for a in attachments):
            return "attachments must be a list of file names"
        self.registered[(task, rnd)] = {"task": task, "round": rnd, "checks": checks, "attachments": attachments}
        return None

    def checks_for(self, task: object, rnd: object) -> tuple[list[Any], list[str]] | None:
        """This round's checks, then earlier rounds' (without repeats); None when the round was not registered."""
        if not isinstance(task, str) or not isinstance(rnd, int) or (task, rnd) not in self.registered:
            return None
        checks: list[Any] = []
        attachments: list[str] = []
        for key in [(task, rnd), *sorted(k for k in self.registered if k[0] == task and k[1] < rnd)]:
            entry = self.registered[key]
            checks += [c for c in entry["checks"] if c not in checks]
            attachments += [a for a in entry["attachments"] if a not in attachments]
        return checks, attachments

    def start(self, entry: dict[str, Any]) -> None:
        """Grade a recorded notification in the background; its entry shows the state and then the results."""
        body = entry["body"]
        found = self.checks_for(body.get("task"), body.get("round"))
        if found is None:
            return
        entry["checks"] = {"state": "running", "results": []}
        task = asyncio.get_running_loop().create_task(grade(entry, str(body["pages_url"]), *found))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def stop(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        for task in list(self.tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def grade(entry: dict[str, Any], url: str, checks: list[Any], attachments: list[str]) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "action.verify", url, "--local-only",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(
            proc.communicate(json.dumps({"checks": checks, "attachments": attachments}).encode()), RUN_TIMEOUT_S)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        entry["checks"] = {"state": "failed", "results": [], "error": f"grading took over {RUN_TIMEOUT_S:g}s"}
        return
    except asyncio.CancelledError:  # the evaluator is stopping
        proc.kill()
        await proc.wait()
        raise
    if proc.returncode != 0:
        tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        entry["checks"] = {"state": "failed", "results": [], "error": f"exit {proc.returncode}: {tail[0]}"}
        return
    entry["checks"] = {"state": "done", "results": json.loads(out)["results"]}
