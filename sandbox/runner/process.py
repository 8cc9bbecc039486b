"""Run one step's process in its own process group, stream its output lines, and kill the whole group on a
timeout or a cancellation (a step's `sleep` dies with it). Background children of a step that ended normally live on
until the job ends, as on GitHub ("Cleaning up orphan processes"): `kill_groups` does that."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sandbox.runner.concurrency import RunHandle


@dataclass(frozen=True)
class ProcessOutcome:
    exit_code: int | None  # None when it was killed
    pgid: int = 0
    timed_out: bool = False
    cancelled: bool = False


def _kill_group(proc: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM to the group, then SIGKILL to whatever is left after `grace` seconds."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            continue
        with contextlib.suppress(ProcessLookupError):  # the leader is gone; no member of its group survives it
            os.killpg(proc.pid, signal.SIGKILL)
        return


def run_process(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    on_line: Callable[[str], None],
    deadline: float | None,
    handle: RunHandle,
    grace: float = 2.0,
) -> ProcessOutcome:
    """Run `argv` (stdout and stderr merged, as the runner's log shows them) until it exits, `deadline`
    (time.monotonic) passes, or `handle` is cancelled."""
    proc = subprocess.Popen(
        list(argv), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, start_new_session=True,
    )
    assert proc.stdout is not None
    stream = proc.stdout

    finished = threading.Event()
    lock = threading.Lock()

    def drain() -> None:
        for raw in stream:
            with lock:
                if finished.is_set():
                    return  # a background child still writing after the step ended: not this step's log
                on_line(raw.decode("utf-8", errors="replace").rstrip("\r\n"))

    reader = threading.Thread(target=drain, name=f"step-{proc.pid}-output", daemon=True)
    reader.start()
    timed_out = cancelled = False
    while proc.poll() is None:
        if handle.cancelled:
            cancelled = True
        elif deadline is not None and time.monotonic() >= deadline:
            timed_out = True
        else:
            handle.wait_cancelled(0.05)
            continue
        _kill_group(proc, grace)
        break
    reader.join(1.0)  # a background child may hold the pipe open; its later output is dropped
    with lock:
        finished.set()
    code = proc.wait()
    return ProcessOutcome(None if (timed_out or cancelled) else code, proc.pid, timed_out, cancelled)


def kill_groups(pgids: Sequence[int]) -> None:
    """End what the job's steps left running in the background."""
    for pgid in pgids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
