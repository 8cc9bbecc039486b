"""Where the receiver's accept path spends its time: `uv run --with py-spy python -m bench.profile_accept`.

Not a benchmark with a target: the tool behind the profile table in bench/README.md. One receiver
(`deployer serve`, durable outbox) is saturated by wrk with bench/accept.lua (a new nonce per POST) while py-spy
samples every thread of it; printed: the receiver's CPU time per request (from /proc, so the sampler's own cost is
left out) and, per step of the accept path, the share of samples whose stack holds it.

`--source DIR` runs the receiver from another checkout (e.g. `git archive main | tar -x -C /tmp/main`) with this
checkout's emulator and load, for a before/after on the same machine.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from bench.common import CannotMeasure, load_average, main_guard, receiver_env, start, start_emulator, table
from bench.receiver_load import SATURATION_CONNECTIONS, body_template, ensure_wrk, wrk_load
from sandbox.procs import deployer_argv

# Each sample goes to the first step here whose name is in its stack: the steps are exclusive and sum to 100%.
STEPS = (
    ("reading the body", ("_read_limited",)),
    ("JSON parse", ("parse_json", "loads (json/")),
    ("validation (deployer.brief.parse_brief)", ("parse_brief", "deployer/brief.py")),
    ("stored form: the public JSON", ("stored_form", "json/encoder.py", "dumps (json/", "encode (receiver/payload")),
    ("outbox: SQLite insert + commit", ("_commit (receiver/outbox.py",)),
    ("outbox: WAL checkpoints (its own thread)", ("_checkpoint_loop",)),
    ("outbox: queueing, futures, the flusher task", ("receiver/outbox.py",)),
    ("log line (events.event)", ("event (receiver/events.py",)),
    ("rest of our handler and middleware", ("receiver/app.py",)),
    ("aiohttp: HTTP parsing, routing, response", ("aiohttp/",)),
    ("asyncio: event loop, sockets, callbacks", ("asyncio/",)),
    ("other", ("",)),
)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def shares(raw: str) -> tuple[int, Counter[str]]:
    """py-spy's raw (collapsed) stacks -> total samples, samples per step."""
    total, counts = 0, Counter[str]()
    for line in raw.splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        total += int(n)
        counts[next(name for name, needles in STEPS if any(needle in stack for needle in needles))] += int(n)
    return total, counts


def run(args: argparse.Namespace) -> None:
    wrk, spy = ensure_wrk(), shutil.which("py-spy")
    if spy is None:
        raise CannotMeasure("py-spy is not installed: uv run --with py-spy python -m bench.profile_accept")
    seconds = 3 if args.size == "smoke" else args.seconds
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp:
        root = Path(args.keep or tmp)
        root.mkdir(parents=True, exist_ok=True)
        secret = "bench-" + secrets.token_urlsafe(12)
        body_file = root / "body.json"
        body_file.write_text(body_template(secret))
        emulator = start_emulator(root / "logs", root / "github")
        env = receiver_env(emulator, root / "receiver", secret, RATE_LIMIT_PER_MINUTE="0", OUTBOX_SYNC=args.sync)
        source = Path(args.source).resolve() if args.source else None  # `python -m` puts its cwd first on sys.path
        receiver = start("receiver", deployer_argv("serve", "--host", "127.0.0.1", "--port", "0"), root / "logs", env,
                         cwd=source)
        try:
            url = f"{receiver.url}/api-endpoint"
            wrk_load(wrk, url, body_file, server="receiver", offered=None, seconds=2)  # warm-up
            spy_out = root / "profile.txt"
            sampler = subprocess.Popen([spy, "record", "--format", "raw", "--rate", "250", "--nonblocking",
                                        "--duration", str(seconds + 1), "--pid", str(receiver.proc.pid),
                                        "--output", str(spy_out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            before = cpu_s(receiver.proc.pid)
            load = wrk_load(wrk, url, body_file, server="receiver", offered=None, seconds=seconds)
            used = cpu_s(receiver.proc.pid) - before
            _, err = sampler.communicate(timeout=seconds + 60)
            if not spy_out.exists():
                raise CannotMeasure(f"py-spy wrote no profile: {err.decode(errors='replace')[-300:]}")
            total, counts = shares(spy_out.read_text())
        finally:
            receiver.stop()
            emulator.service.stop()
    print(f"accept path profile: {args.source or 'this checkout'}, OUTBOX_SYNC={args.sync}, wrk saturation "
          f"({SATURATION_CONNECTIONS} connections) {seconds} s, {load.requests} requests at {load.rate:.0f} req/s; "
          f"receiver CPU {used * 1e6 / max(load.requests, 1):.0f} us a request; {total} samples; {load_average()}")
    print(table(["step", "share of samples"],
                [[name, f"{100 * counts[name] / max(total, 1):.0f}%"] for name, _ in STEPS]))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", choices=("smoke", "full"), default="full")
    p.add_argument("--keep", metavar="DIR")
    p.add_argument("--seconds", type=int, default=10)
    p.add_argument("--sync", choices=("normal", "full"), default="normal")
    p.add_argument("--source", metavar="DIR", help="run the receiver from this checkout instead")
    return main_guard(run, p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
