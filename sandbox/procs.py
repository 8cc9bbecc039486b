"""Start `deployer` servers as child processes and wait for their `ready <url>` line.

Used by `deployer sandbox` and by the tests, so both drive the parts exactly as a user would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path


class ServiceError(RuntimeError):
    pass


@dataclass
class Service:
    name: str
    proc: subprocess.Popen[str]
    url: str
    log_path: Path
    stdout_lines: list[str] = field(default_factory=list)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM, then SIGKILL after `timeout`; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def deployer_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "deployer", *args]


def start_service(
    name: str,
    argv: Sequence[str],
    *,
    log_dir: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 30.0,
    cwd: str | os.PathLike[str] | None = None,
) -> Service:
    """Run `argv`; return once it printed `ready <url>`, or raise with the tail of its stderr."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    log = open(log_path, "a", buffering=1)  # noqa: SIM115 - handed to the child, closed by the drain thread
    proc = subprocess.Popen(
        list(argv), stdout=subprocess.PIPE, stderr=log, text=True, env=dict(env) if env is not None else None,
        cwd=cwd, start_new_session=True,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    found: list[str] = []
    ready = threading.Event()

    def drain() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            log.write(line)
            if not found and line.startswith("ready "):
                found.append(line.split(None, 1)[1].strip())
                ready.set()
        ready.set()
        log.close()

    threading.Thread(target=drain, name=f"{name}-stdout", daemon=True).start()
    deadline = time.monotonic() + timeout
    while not ready.wait(0.05):
        if time.monotonic() > deadline:
            proc.kill()
            raise ServiceError(f"{name} did not print 'ready' within {timeout:.0f}s; log: {log_path}")
    if not found:
        proc.wait()
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-15:])
        raise ServiceError(f"{name} exited with status {proc.returncode} before it was ready:\n{tail}")
    return Service(name, proc, found[0], log_path, lines)
