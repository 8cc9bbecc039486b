"""What every benchmark shares: sizes, process memory, the emulator as a dispatch target, tables and verdicts.

Figures are reported as measured; targets are judged in the verdict line only, and a missed target never changes
the exit status. A benchmark exits 1 only when it could not measure (`CannotMeasure`), e.g. a server did not start.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import requests

from sandbox.procs import Service, ServiceError, deployer_argv, start_service

SIZES = ("smoke", "full")
USER = "sandbox"
DEPLOYER_REPO = "llm-pages-deployer"
SAMPLES = Path(__file__).resolve().parent.parent / "sandbox" / "briefs"


class CannotMeasure(RuntimeError):
    """The benchmark could not take its measurements (not: a target was missed)."""


@dataclass(frozen=True)
class Target:
    name: str
    met: bool | None  # None: not measured in this run
    shown: str  # the figure against its target, e.g. "3.1 ms <= 5 ms"


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--size", choices=SIZES, default="full", help="smoke: seconds, to show it runs; full: the real run")
    p.add_argument("--keep", metavar="DIR", help="keep logs and data in DIR (default: a temporary directory)")
    return p


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    """Resident memory of one process from /proc (VmRSS now, or VmHWM: the peak since it started)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise CannotMeasure(f"/proc/{pid}/status has no {field}")


def tree_rss_kb(pid: int) -> int:
    """RSS of a process and its children (gunicorn's master and workers)."""
    total = rss_kb(pid)
    children = Path(f"/proc/{pid}/task/{pid}/children")
    for child in children.read_text().split() if children.exists() else []:
        total += tree_rss_kb(int(child))
    return total


def start(name: str, argv: Sequence[str], logs: Path, env: dict[str, str] | None = None, *,
          cwd: Path | None = None) -> Service:
    try:
        return start_service(name, argv, log_dir=logs, env=env, timeout=60, cwd=cwd)
    except ServiceError as exc:
        raise CannotMeasure(f"could not start {name}: {exc}") from None


@dataclass
class Emulator:
    service: Service
    api_url: str
    pages_hosts: dict[str, str]
    token: str

    def get(self, path: str) -> requests.Response:
        return requests.get(f"{self.api_url}{path}", headers=self.auth, timeout=30)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}


def start_emulator(logs: Path, data: Path, *, content_limit: int = 1_000_000, build_delay: float = 1.0) -> Emulator:
    """The GitHub emulator as GitHub behaves (creation lag, CDN, pacing record), with content limits high enough not
    to be what a benchmark measures, and the deployer repo."""
    token = "ghp_" + secrets.token_hex(18)
    service = start("github", deployer_argv(
        "sandbox", "github", "--port", "0", "--pages-port", "0", "--user", USER, "--token", token,
        "--content-limit", str(content_limit), "--rate-limit", "100000000", "--build-delay", str(build_delay),
        "--data", str(data)), logs)
    info = requests.get(f"{service.url}/_sandbox/info", timeout=10).json()
    emulator = Emulator(service, info["api_url"], info["pages_hosts"], token)
    made = requests.post(f"{emulator.api_url}/user/repos", headers=emulator.auth, json={"name": DEPLOYER_REPO},
                         timeout=30)
    if made.status_code != 201:
        service.stop()  # the caller never gets it to stop
        raise CannotMeasure(f"the emulator did not create {USER}/{DEPLOYER_REPO}: HTTP {made.status_code}")
    return emulator


def receiver_env(emulator: Emulator, data: Path, secret: str, **extra: str) -> dict[str, str]:
    return {**os.environ, "SHARED_SECRET": secret, "GITHUB_TOKEN": emulator.token,
            "DEPLOYER_REPO": f"{USER}/{DEPLOYER_REPO}", "GITHUB_API_URL": emulator.api_url,
            "DEPLOYER_DATA_DIR": str(data), **extra}


def load_average() -> str:
    """The machine's 1-minute load average: how busy it was (2 cores), printed with each result."""
    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def ratio(value: float | None, base: float | None) -> str:
    if value is None or base is None or base == 0:
        return "-"
    return f"{value / base:.2f}x"


def fmt(value: float | None, unit: str = "", digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}{unit}"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table (readable in a terminal, pasteable into bench/README.md)."""
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=True)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"  # noqa: E731
    return "\n".join([line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


def verdict(name: str, targets: Sequence[Target]) -> str:
    met = [t for t in targets if t.met]
    judged = [t for t in targets if t.met is not None]
    parts = "; ".join(f"{'MET' if t.met else 'MISSED' if t.met is not None else 'NOT MEASURED'} {t.shown}"
                      for t in targets)
    return f"verdict {name}: {len(met)}/{len(judged)} targets met: {parts}"


def main_guard(run: Callable[[argparse.Namespace], None], args: argparse.Namespace) -> int:
    """Run a benchmark; 1 with one line when it could not measure, 0 otherwise (targets met or not)."""
    began = time.monotonic()
    # SIGTERM unwinds like an error, so the servers a benchmark started are stopped by its `finally` blocks.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        run(args)
    except (CannotMeasure, requests.RequestException) as exc:
        print(f"could not measure: {exc}", flush=True)
        return 1
    print(f"({time.monotonic() - began:.0f} s, size {args.size})", flush=True)
    return 0

