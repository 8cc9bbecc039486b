"""Each benchmark still runs: bench/ in its smoke size, every one a subprocess, all at once to keep this short.

No timing is asserted here (figures from a smoke run mean nothing); only that each measured (exit 0), printed its
table and its verdict line.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.__main__ import BENCHMARKS

ROOT = Path(__file__).resolve().parent.parent


def test_every_benchmark_runs_in_smoke_size() -> None:
    procs = {name: subprocess.Popen([sys.executable, "-m", f"bench.{name}", "--size", "smoke"], cwd=ROOT,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for name in BENCHMARKS}
    try:
        outputs = {name: proc.communicate(timeout=240)[0] for name, proc in procs.items()}
    finally:
        for proc in procs.values():  # a benchmark stops its servers on SIGTERM
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
    for name, proc in procs.items():
        out = outputs[name]
        assert proc.returncode == 0, f"{name}:\n{out[-3000:]}"
        lines = out.splitlines()
        assert any(line.startswith("|-") for line in lines), f"{name} printed no table"
        assert any(line.startswith(f"verdict {name}: ") and "targets met" in line for line in lines), name
