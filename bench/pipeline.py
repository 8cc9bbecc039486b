"""Benchmark 2, pipeline overhead: `uv run python -m bench.pipeline [--size smoke|full]`.

The whole sandbox (sandbox/world.py: emulator, Pages, OpenRouter stand-in, evaluator, receiver, Actions service)
takes the sample brief's rounds through sandbox/demo.py, while a watcher thread reads the run's log (when each
step and each stage of `deployer run` starts: its `##[group]` lines) and polls the page (status and ETag, so the
first 200 of the new commit's index.html is known). The time from POST to the evaluator's notification is cut into
those segments; from each we take away what is not ours: the stand-in LLM's time (each chat request it received in
that segment, sent again afterwards and timed) and the configured Pages build delay. What is left is overhead.
Targets: overhead <= 2 s per round; the notification at most 1 s after the page first served the new commit.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

from bench.common import CannotMeasure, Target, fmt, load_average, main_guard, parser, table, verdict
from sandbox.demo import DEFAULT_ROUNDS, SAMPLES, DemoFailed, run_demo
from sandbox.world import World, WorldError, start_world

BUILD_DELAY_S = {"smoke": 0.2, "full": 1.0}
ROUNDS = {"smoke": DEFAULT_ROUNDS[:1], "full": DEFAULT_ROUNDS}
POLL_S = 0.03
GROUP = "##[group]"
INSTALL_STEP = "step: Install "  # the install steps (the locked dependencies, then the product)
DEPLOY_STEP = "Deploy the brief"
TARGET_OVERHEAD_S = 2.0
TARGET_NOTIFY_S = 1.0


class Watcher(threading.Thread):
    """Polls the new run's log and the page until stopped; epoch times of what it saw first."""

    def __init__(self, world: World, page_url: str, runs_before: int):
        super().__init__(daemon=True, name="bench-watcher")
        self.world, self.page_url, self.runs_before = world, page_url, runs_before
        self.groups: dict[str, float] = {}
        self.pages: list[tuple[float, int, str | None]] = []  # (when sent, status, ETag) at each change
        self.run_number: int | None = None
        self.halt = threading.Event()
        self.http = requests.Session()

    def run(self) -> None:
        offset = 0
        last: tuple[int, str | None] | None = None
        while not self.halt.is_set():
            sent = time.time()
            try:
                # A fresh query each poll: the plain URL would keep the 404 of our first poll in Pages' CDN.
                page = self.http.get(self.page_url, params={"watch": f"{sent:.3f}"}, timeout=5)
                seen = (page.status_code, page.headers.get("ETag"))
                if seen != last:
                    self.pages.append((sent, *seen))
                    last = seen
                if self.run_number is None:
                    runs = self.http.get(f"{self.world.actions_url}/runs", timeout=5).json()
                    if len(runs) > self.runs_before:
                        self.run_number = runs[self.runs_before]["number"]
                else:
                    log = self.http.get(f"{self.world.actions_url}/runs/{self.run_number}/log",
                                        params={"offset": offset}, timeout=5).json()
                    offset = log["next"]
                    for line in log["lines"]:
                        if line.startswith(GROUP):
                            self.groups.setdefault(line[len(GROUP):].strip(), time.time())
            except requests.RequestException:
                pass  # the next poll tries again; a gap only coarsens the timings
            self.halt.wait(POLL_S)


@dataclass
class Segment:
    name: str
    start: float
    seconds: float
    llm_s: float = 0.0
    build_s: float = 0.0

    @property
    def overhead_s(self) -> float:
        return self.seconds - self.llm_s - self.build_s


@dataclass
class RoundTimes:
    label: str
    segments: list[Segment] = field(default_factory=list)
    total_s: float = 0.0
    live_to_notified_s: float | None = None

    @property
    def overhead_s(self) -> float:
        return sum(s.overhead_s for s in self.segments)


def epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def llm_requests(world: World, since: float, until: float) -> list[dict[str, Any]]:
    """The chat requests the stand-in answered in a round (not those refused, e.g. on a retired model). Each is
    charged to the stage that sends its kind (the round plan, the check translation or generation): the log's
    group lines reach us later than the request reaches the stand-in."""
    base = world.openrouter_url.removesuffix("/api/v1")
    seen = requests.get(f"{base}/_sandbox/requests", timeout=30).json()
    return [r["body"] for r in seen if since <= r["received_at"] <= until and r["status"] == 200]


def replay_s(world: World, body: dict[str, Any]) -> float:
    """The stand-in's time for one chat request: the same request sent again, timed from here."""
    began = time.perf_counter()
    answer = requests.post(f"{world.openrouter_url}/chat/completions", json=body, timeout=120,
                           headers={"Authorization": f"Bearer {world.openrouter_key}"})
    if answer.status_code != 200:
        raise CannotMeasure(f"the stand-in answered {answer.status_code} to a replayed request")
    return time.perf_counter() - began


def follow(world: World, path: Path, build_delay: float) -> RoundTimes:
    brief_task = json.loads(path.read_text())["task"]
    page_url = world.site(brief_task)
    runs_before = len(requests.get(f"{world.actions_url}/runs", timeout=10).json())
    watcher = Watcher(world, page_url, runs_before)
    watcher.start()
    posted = time.time()
    try:
        (result,) = run_demo(world, [path], out=lambda _line: None)
    except DemoFailed as exc:
        raise CannotMeasure(f"the round did not complete: {exc}") from None
    finally:
        watcher.halt.set()
        watcher.join(10)
    note = result.notification
    notified = next(n["received_ts"] for n in requests.get(f"{world.evaluator_url}/notifications", timeout=10).json()
                    if n["body"].get("nonce") == note["nonce"])
    status = requests.get(f"{world.receiver_url}/briefs/{result.brief_id}", timeout=10,
                          headers={"Authorization": f"Bearer {world.shared_secret}"}).json()
    marks = [("accept: POST until 200", posted), ("receiver: outbox until dispatch sent", epoch(status["accepted_at"])),
             ("Actions: dispatch until the run's first step", epoch(status["dispatched_at"]))]
    in_action = False  # the runner's steps come first, then `deployer run`'s stages inside the last step
    for name, t in sorted(watcher.groups.items(), key=lambda kv: kv[1]):
        if t < notified:
            marks.append((f"deployer run: {name}" if in_action else f"step: {name}", t))
        in_action = in_action or name == DEPLOY_STEP
    marks.append(("notified", notified))
    times = RoundTimes(f"{note['task']} r{note['round']}", total_s=notified - posted)
    for (name, start), (_, end) in itertools.pairwise(marks):
        times.segments.append(Segment(name, start, max(0.0, end - start)))
    for body in llm_requests(world, posted, notified):
        last = json.dumps(body["messages"][-1])
        stage = "checks" if "<translate-checks>" in last else "plan" if "<plan-round>" in last else "generate"
        segment = next((s for s in times.segments if s.name == f"deployer run: {stage}"), None)
        if segment is None and stage == "checks":
            continue  # translated beside generate (no group of its own): not on the path, nothing to take away
        if segment is None:
            raise CannotMeasure(f"a chat request for {stage}, but the run log has no {stage} stage")
        segment.llm_s = min(segment.seconds, segment.llm_s + replay_s(world, body))
    pages = next((s for s in times.segments if s.name == "deployer run: pages"), None)
    if pages is None:
        raise CannotMeasure(f"the run log of {times.label} has no pages stage: {sorted(watcher.groups)}")
    pages.build_s = min(build_delay, pages.seconds)
    blob = requests.get(f"{world.api_url}/repos/{world.user}/{note['task']}/contents/index.html",
                        params={"ref": note["commit_sha"]}, headers={"Authorization": f"token {world.token}"},
                        timeout=10).json()["sha"]
    first_live = next((t for t, code, etag in watcher.pages if code == 200 and etag == f'"{blob}"'), None)
    times.live_to_notified_s = None if first_live is None else notified - first_live
    return times


def run(args: argparse.Namespace) -> None:
    build_delay = BUILD_DELAY_S[args.size]
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        try:
            world = start_world(Path(args.keep or tmp), build_delay=build_delay)
        except WorldError as exc:
            raise CannotMeasure(str(exc)) from None
        try:
            rounds = [follow(world, SAMPLES / name, build_delay) for name in ROUNDS[args.size]]
        finally:
            world.stop()
    targets = []
    for times in rounds:
        print(f"pipeline, {times.label}: POST to notification {times.total_s:.2f} s "
              f"(Pages build delay {build_delay:g} s, stand-in LLM replayed; {load_average()})")
        rows = [[s.name, fmt(s.seconds, digits=2), fmt(s.llm_s or None, digits=2), fmt(s.build_s or None, digits=2),
                 fmt(s.overhead_s, digits=2), f"{s.overhead_s / times.overhead_s:.0%}" if times.overhead_s else "-"]
                for s in times.segments]
        install = sum(s.overhead_s for s in times.segments if s.name.startswith(INSTALL_STEP))
        rows.append(["total", fmt(times.total_s, digits=2), fmt(sum(s.llm_s for s in times.segments), digits=2),
                     fmt(sum(s.build_s for s in times.segments), digits=2), fmt(times.overhead_s, digits=2), "100%"])
        rows.append(["total without the install step", "", "", "", fmt(times.overhead_s - install, digits=2),
                     f"{(times.overhead_s - install) / times.overhead_s:.0%}" if times.overhead_s else "-"])
        print(table(["segment", "seconds", "stand-in LLM s", "build delay s", "overhead s", "share of overhead"],
                    rows))
        live = times.live_to_notified_s
        print(f"page first served the new commit -> notification: {fmt(live, ' s', 2)} (page polled every "
              f"{POLL_S * 1000:.0f} ms)\n")
        targets.append(Target(f"{times.label} overhead", times.overhead_s <= TARGET_OVERHEAD_S,
                              f"{times.label} overhead {times.overhead_s:.2f} s <= {TARGET_OVERHEAD_S:g} s"))
        targets.append(Target(f"{times.label} notify", None if live is None else live <= TARGET_NOTIFY_S,
                              f"{times.label} notified {fmt(live, ' s', 2)} after live <= {TARGET_NOTIFY_S:g} s"))
    print(verdict("pipeline", targets), flush=True)


def main(argv: list[str] | None = None) -> int:
    return main_guard(run, parser(__doc__.splitlines()[0]).parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
