"""`deployer sandbox` (no part) runs the GitHub/Pages demo as a user would, and says that is all it covers."""

from __future__ import annotations

import subprocess

from sandbox.demo import STEPS
from sandbox.procs import deployer_argv


def test_demo_runs_every_step_and_exits_zero() -> None:
    done = subprocess.run(deployer_argv("sandbox", "--build-delay", "0.2"), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert "GitHub/Pages part only" in lines[0]
    for step in STEPS:
        assert any(f"] {step}: " in line for line in lines), (step, done.stdout)
    assert lines[-1].startswith("ok: http://127.0.0.1:")
