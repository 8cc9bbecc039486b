"""Benchmark 1, the receiver's accept path: `uv run python -m bench.receiver_load [--size smoke|full]`.

Four servers take the same load in the same run, one after the other at each load level:
- ours: `deployer serve` with its durable SQLite outbox (OUTBOX_SYNC=normal, the default), dispatching to the
  GitHub emulator; ours (full): the same with OUTBOX_SYNC=full (an fsync per group commit);
- seed: the seed project's architecture (bench/baselines/seed_app.py: Flask + a thread per brief, gunicorn, 4 workers);
- ceiling: a bare aiohttp handler that reads the body and answers 200 (bench/baselines/ceiling.py).
Load comes from wrk (Debian's package, installed with apt-get when missing) in its own process, with
bench/accept.lua: a new nonce per POST, at fixed offered rates and at saturation, for a fixed duration.

Why wrk and not a Python load generator: on 2 cores the generator competes with the server for CPU, and wrk
costs a fraction of what an aiohttp client would at saturation, so the ceiling measures the server, not the
client. wrk 4 has no constant-rate mode, so the Lua script keeps a per-thread timetable and counts the slots it
could not keep (`late`); a level where the server fell behind shows it instead of hiding it.
Then the 24 MiB brief, once per sync mode: a fresh receiver, the body POSTed once, its peak RSS growth (VmHWM)
against the body size.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from bench.common import (
    SAMPLES,
    CannotMeasure,
    Target,
    fmt,
    load_average,
    main_guard,
    parser,
    ratio,
    receiver_env,
    rss_kb,
    start,
    start_emulator,
    table,
    tree_rss_kb,
    verdict,
)
from sandbox.procs import Service, deployer_argv

LUA = Path(__file__).resolve().parent / "accept.lua"
RATE_CONNECTIONS = 16
SATURATION_CONNECTIONS = 32
WRK_TIMEOUT_S = 10
TARGET_P99_MS = 5.0
TARGET_SEED_X = 3.0  # issue 16
TARGET_CEILING_X = 0.3  # issue 16
TARGET_RSS_MB = 80.0
TARGET_BIG_GROWTH_X = 3.0  # issue 16, in both sync modes
BIG_ATTACHMENT_BYTES = 6 * 1024 * 1024
SYNC_MODES = {"ours": "normal", "ours (full)": "full"}
SERVERS = (*SYNC_MODES, "seed", "ceiling")


@dataclass(frozen=True)
class Size:
    trial_s: int
    trials: int  # per server and level, interleaved between the servers
    rates: tuple[int, ...]
    warmup_s: int
    big_mib: int


SIZES = {"smoke": Size(1, 1, (500,), 0, 2), "full": Size(5, 3, (100, 500, 1000), 2, 24)}


@dataclass
class Load:
    """One server at one level: the median of its trials (a burst of someone else's load spoils one trial, not
    the figure); requests, errors and late slots are summed."""

    server: str
    offered: int | None  # None: saturation
    mode: str
    requests: int
    rate: float
    p50_ms: float
    p99_ms: float
    p999_ms: float
    errors: int
    late: int

    @staticmethod
    def median_of(trials: list[Load]) -> Load:
        first = trials[0]
        return Load(first.server, first.offered, first.mode, sum(t.requests for t in trials),
                    statistics.median(t.rate for t in trials), statistics.median(t.p50_ms for t in trials),
                    statistics.median(t.p99_ms for t in trials), statistics.median(t.p999_ms for t in trials),
                    sum(t.errors for t in trials), sum(t.late for t in trials))


def ensure_wrk() -> str:
    """wrk from Debian's packages; installed once with apt-get when missing (the machine's own package manager)."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise CannotMeasure("wrk is not installed and cannot be installed here (needs root and apt-get): "
                            "apt-get install wrk")
    print("installing wrk with apt-get (once)", flush=True)
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "timeout": 300}
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], env=env, check=False, **quiet).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, check=False, **quiet)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], env=env, check=False, **quiet)
    found = shutil.which("wrk")
    if not found:
        raise CannotMeasure("apt-get could not install wrk")
    return found


def body_template(secret: str) -> str:
    """The sample brief (with its CSV attachment) as JSON, the nonce left as @@NONCE@@ for the Lua script."""
    brief = json.loads((SAMPLES / "sum-of-sales.r1.json").read_text())
    brief.update(secret=secret, nonce="@@NONCE@@", evaluation_url="http://127.0.0.1:9/notify")
    return json.dumps(brief)


def wrk_load(wrk: str, url: str, body_file: Path, *, server: str, offered: int | None, seconds: int,
             mode: str = "unique") -> Load:
    connections = RATE_CONNECTIONS if offered else SATURATION_CONNECTIONS
    argv = [wrk, "-t1", f"-c{connections}", f"-d{seconds}s", f"--timeout={WRK_TIMEOUT_S}s", "-s", str(LUA), url,
            "--", str(body_file), str(offered or 0), mode]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + WRK_TIMEOUT_S + 30, check=False)
    line = next((x for x in done.stdout.splitlines() if x.startswith("wrk-result ")), None)
    if done.returncode != 0 or line is None:
        raise CannotMeasure(f"wrk against {server} failed (exit {done.returncode}): {done.stderr.strip()[-300:]}")
    r = json.loads(line.split(" ", 1)[1])
    errors = sum(r["errors"].values())
    return Load(server, offered, mode, r["requests"], r["requests"] / (r["duration_us"] / 1e6), r["p50_us"] / 1000,
                r["p99_us"] / 1000, r["p999_us"] / 1000, errors, r["late"])


def start_servers(root: Path, secret: str) -> dict[str, Service]:
    logs = root / "logs"
    emulator = start_emulator(logs, root / "github")
    ours = {name: start(f"receiver-{sync}", deployer_argv("serve", "--host", "127.0.0.1", "--port", "0"), logs,
                        receiver_env(emulator, root / f"receiver-{sync}", secret, RATE_LIMIT_PER_MINUTE="0",
                                     OUTBOX_SYNC=sync))
            for name, sync in SYNC_MODES.items()}
    return {
        "github": emulator.service,
        **ours,
        "seed": start("seed", [sys.executable, "-m", "gunicorn", "-c", "python:bench.baselines.seed_app",
                               "-b", "127.0.0.1:0", "bench.baselines.seed_app:app"], logs,
                      {**os.environ, "SHARED_SECRET": secret}),
        "ceiling": start("ceiling", [sys.executable, "-m", "bench.baselines.ceiling"], logs),
    }


def big_brief(secret: str, mib: int) -> bytes:
    """A brief whose JSON is `mib` MiB, nearly all of it base64 attachments of random bytes, each at most 8 MiB (6 MiB
    decoded: under the default BRIEF_MAX_ATTACHMENT_MB, so the brief is accepted with the default limits)."""
    brief = json.loads((SAMPLES / "sum-of-sales.r1.json").read_text())
    brief.update(secret=secret, nonce=f"big-{secrets.token_hex(4)}", evaluation_url="http://127.0.0.1:9/notify")
    left = mib * 1024 * 1024 * 3 // 4
    while left > 0:
        raw = os.urandom(min(left, BIG_ATTACHMENT_BYTES))
        left -= len(raw)
        brief["attachments"].append({"name": f"big-{len(brief['attachments'])}.bin",
                                     "url": "data:application/octet-stream;base64," + base64.b64encode(raw).decode()})
    return json.dumps(brief).encode()


@dataclass
class BigResult:
    sync: str
    status: int
    body_mb: float
    growth_mb: float
    growth_with_dispatch_mb: float | None
    seconds: float


def measure_big(root: Path, secret: str, mib: int, sync: str) -> BigResult:
    """A fresh receiver takes one big brief: peak RSS (VmHWM) growth over its RSS just before, in MB."""
    logs = root / "logs"
    emulator = start_emulator(logs, root / f"github-big-{sync}")
    env = receiver_env(emulator, root / f"receiver-big-{sync}", secret, RATE_LIMIT_PER_MINUTE="0",
                       MAX_BODY_MB=str(mib * 2 + 16), OUTBOX_SYNC=sync)
    receiver = start(f"receiver-big-{sync}", deployer_argv("serve", "--host", "127.0.0.1", "--port", "0"), logs,
                     env)
    try:
        url = f"{receiver.url}/api-endpoint"
        small = json.loads(body_template(secret).replace("@@NONCE@@", "warm"))
        requests.post(url, json=small, timeout=30)  # imports and first-request work happen before the baseline
        time.sleep(1.5)  # ... and the small brief's dispatch
        body = big_brief(secret, mib)
        before = rss_kb(receiver.proc.pid)
        began = time.monotonic()
        answer = requests.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=300)
        seconds = time.monotonic() - began
        growth = (rss_kb(receiver.proc.pid, "VmHWM") - before) / 1024
        with_dispatch = None
        if answer.status_code == 200:
            auth = {"Authorization": f"Bearer {secret}"}
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                state = requests.get(f"{receiver.url}/briefs/{answer.json()['id']}", headers=auth, timeout=30).json()
                if state.get("state") != "pending":
                    with_dispatch = (rss_kb(receiver.proc.pid, "VmHWM") - before) / 1024
                    break
                time.sleep(0.2)
        return BigResult(sync, answer.status_code, len(body) / 1e6, growth, with_dispatch, seconds)
    finally:
        receiver.stop()
        emulator.service.stop()


def run(args: argparse.Namespace) -> None:
    size = SIZES[args.size]
    wrk = ensure_wrk()
    with tempfile.TemporaryDirectory(prefix="bench-receiver-") as tmp:
        root = Path(args.keep or tmp)
        secret = "bench-" + secrets.token_urlsafe(12)
        body_file = root / "body.json"
        root.mkdir(parents=True, exist_ok=True)
        body_file.write_text(body_template(secret))
        servers = start_servers(root, secret)
        try:
            loads = drive(wrk, servers, body_file, size)
            rss = {name: tree_rss_kb(servers[name].proc.pid) / 1024 for name in SERVERS}
        finally:
            for service in reversed(list(servers.values())):
                service.stop()
        big = [measure_big(root, secret, size.big_mib, sync) for sync in SYNC_MODES.values()]
    report(loads, rss, big, size, args.size)


def drive(wrk: str, servers: dict[str, Service], body_file: Path, size: Size) -> list[Load]:
    """Each load level as short trials that take turns between the servers, so drifting background load (the
    machine is shared) hits all three alike; each server's figure is the median of its trials."""
    urls = {name: f"{servers[name].url}/api-endpoint" for name in SERVERS}
    if size.warmup_s:
        for name in SERVERS:
            wrk_load(wrk, urls[name], body_file, server=name, offered=200, seconds=size.warmup_s)
    levels: list[tuple[str, int | None, str]] = [(n, r, "unique") for r in (*size.rates, None) for n in SERVERS]
    levels.append(("ours", None, "duplicate"))
    trials: dict[tuple[str, int | None, str], list[Load]] = {level: [] for level in levels}
    for offered in (*size.rates, None):
        level_names = [key for key in levels if key[1] == offered]
        for _ in range(size.trials):
            for name, _, mode in level_names:
                load = wrk_load(wrk, urls[name], body_file, server=name, offered=offered, seconds=size.trial_s,
                                mode=mode)
                if load.requests == 0 or load.errors >= load.requests:
                    raise CannotMeasure(f"{name} answered no request successfully at {offered or 'saturation'}")
                trials[(name, offered, mode)].append(load)
    return [Load.median_of(trials[level]) for level in levels]


def find(loads: list[Load], server: str, offered: int | None, mode: str = "unique") -> Load | None:
    return next((x for x in loads if x.server == server and x.offered == offered and x.mode == mode), None)


def report(loads: list[Load], rss: dict[str, float], bigs: list[BigResult], size: Size, size_name: str) -> None:
    rows = []
    for load in loads:
        ceiling = find(loads, "ceiling", load.offered)
        name = load.server + (" (duplicates)" if load.mode == "duplicate" else "")
        rows.append([name, str(load.offered or "saturation"), fmt(load.rate, digits=0), fmt(load.p50_ms, digits=2),
                     fmt(load.p99_ms, digits=2), fmt(load.p999_ms, digits=2), str(load.errors), str(load.late),
                     ratio(load.rate, ceiling.rate if ceiling else None),
                     ratio(load.p99_ms, ceiling.p99_ms if ceiling else None)])
    print(f"receiver accept path: wrk, median of {size.trials} trials of {size.trial_s} s per server and level "
          f"(taking turns), sample brief of {len(body_template('x'))} bytes, a new nonce per request; "
          f"{load_average()}")
    print(table(["server", "offered req/s", "req/s", "p50 ms", "p99 ms", "p99.9 ms", "errors", "late",
                 "req/s vs ceiling", "p99 vs ceiling"], rows))
    print()
    print(table(["process", "RSS after the run (MB)", "vs ceiling"],
                [[name, fmt(mb), ratio(mb, rss["ceiling"])] for name, mb in rss.items()]))
    print()
    print(table(["big brief", "OUTBOX_SYNC", "HTTP", "body MB", "peak RSS growth MB", "growth / body",
                 "incl. its dispatch MB", "seconds"],
                [["ours", big.sync, str(big.status), fmt(big.body_mb), fmt(big.growth_mb),
                  ratio(big.growth_mb, big.body_mb), fmt(big.growth_with_dispatch_mb), fmt(big.seconds, digits=2)]
                 for big in bigs]))
    ours500, full500, ceiling500 = (find(loads, s, 500) for s in ("ours", "ours (full)", "ceiling"))
    ours_sat, seed_sat, ceil_sat = (find(loads, s, None) for s in ("ours", "seed", "ceiling"))
    assert ours_sat and seed_sat and ceil_sat
    targets = [
        Target("p99", None if ours500 is None else ours500.p99_ms <= TARGET_P99_MS,
               "ours p99 at 500 req/s " + ("-" if ours500 is None else f"{ours500.p99_ms:.2f} ms (OUTBOX_SYNC=full "
                                           f"{fmt(full500 and full500.p99_ms, digits=2)} ms, ceiling "
                                           f"{fmt(ceiling500 and ceiling500.p99_ms, digits=2)} ms)")
               + f" <= {TARGET_P99_MS:g} ms"),
        Target("seed", ours_sat.rate >= TARGET_SEED_X * seed_sat.rate,
               f"throughput {ratio(ours_sat.rate, seed_sat.rate)} seed >= {TARGET_SEED_X:g}x"),
        Target("ceiling", ours_sat.rate >= TARGET_CEILING_X * ceil_sat.rate,
               f"throughput {ratio(ours_sat.rate, ceil_sat.rate)} ceiling >= {TARGET_CEILING_X:g}x"),
        Target("rss", rss["ours"] <= TARGET_RSS_MB, f"RSS {rss['ours']:.0f} MB <= {TARGET_RSS_MB:g} MB"),
        *(Target(f"big {big.sync}", big.status == 200 and big.growth_mb <= TARGET_BIG_GROWTH_X * big.body_mb,
                 f"{size.big_mib} MiB brief ({big.sync}) HTTP {big.status}, growth "
                 f"{ratio(big.growth_mb, big.body_mb)} <= {TARGET_BIG_GROWTH_X:g}x") for big in bigs),
    ]
    if size_name == "smoke":
        print("(smoke size: these figures show the benchmark runs, not how fast anything is)")
    print(verdict("receiver_load", targets), flush=True)


def main(argv: list[str] | None = None) -> int:
    return main_guard(run, parser(__doc__.splitlines()[0]).parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
