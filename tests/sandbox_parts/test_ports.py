"""A busy port is one clear line and exit status 1, never a traceback."""

from __future__ import annotations

import socket
import subprocess

import pytest

from sandbox.procs import deployer_argv


@pytest.mark.parametrize("part", ["openrouter", "evaluator"])
def test_busy_port_is_reported(part: str) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = subprocess.run(deployer_argv("sandbox", part, "--port", str(port)), capture_output=True, text=True,
                              timeout=30)
    assert proc.returncode == 1
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith(f"error: cannot listen on 127.0.0.1:{port}: ")
    assert proc.stdout == ""
