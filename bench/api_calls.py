"""Benchmark 3, GitHub API calls per round: `uv run python -m bench.api_calls [--size smoke|full]`.

`deployer run` deploys sample rounds against the GitHub emulator (the emulator's `GET /_sandbox/requests` counts
every REST call); then the baseline (bench/baselines/contents_api.py) commits the same files, file by file with the
Contents API, to a twin repository on the same emulator, counted the same way. Targets: at most 10 calls per round
plus 1 per binary attachment, and of them at most 5 (+1 per binary) content-creating ones (POST, PUT, PATCH, DELETE:
GitHub's secondary rate limit counts these apart, 80 a minute). The count includes polling the API for the Pages
build, shown on its own too; the action polls the page itself first (no API call) and the API only after 20 s, so
with the 1 s build delay here there are none. The baseline's count has no polling, hence the ratio without it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from action.clone import read_files
from bench.action_env import start_action_world
from bench.baselines.contents_api import ContentsError, ContentsPublisher
from bench.common import USER, CannotMeasure, Target, main_guard, parser, ratio, table, verdict
from deployer.brief import DataURIError, parse_data_uri
from sandbox.github.ratelimit import CONTENT_METHODS

ROUNDS = {"smoke": ("sum-of-sales.r1.json",),
          "full": ("sum-of-sales.r1.json", "sum-of-sales.r2.json", "captcha-solver.r1.json")}
POLL_ROUTE = "GET /repos/{owner}/{repo}/pages/builds/latest"
TARGET_BASE = 10
TARGET_WRITES = 5


def binary_attachments(brief: dict[str, Any]) -> int:
    """Attachments that are not UTF-8 text: the ones the action uploads as blobs of their own."""
    count = 0
    for attachment in brief.get("attachments", []):
        try:
            data = parse_data_uri(attachment["url"]).data
            data.decode("utf-8")
        except (DataURIError, UnicodeDecodeError):
            count += 1
            continue
        count += b"\0" in data
    return count


def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        world = start_action_world(Path(args.keep or tmp))
        try:
            rows, targets, routes = measure(world, ROUNDS[args.size])
        finally:
            world.stop()
    print("GitHub API calls per round: ours (`deployer run`, Git Data API: one commit per round) against one "
          "Contents API PUT (one commit) per new or changed file, on the same emulator; Pages build delay 1 s")
    print(table(["round", "binary attachments", "ours: calls", "of which Pages polls", "ours without polls",
                 "target", "ours: writes", "writes target", "Contents API: calls", "its writes", "its commits",
                 "ours without polls / Contents API"], rows))
    print()
    for name, counts in routes:
        print(f"ours, {name}: " + ", ".join(f"{route} x{n}" if n > 1 else route for route, n in counts.items()))
    print(verdict("api_calls", targets), flush=True)


def measure(world: Any, names: tuple[str, ...]) -> tuple[list[list[str]], list[Target], list[tuple[str, Counter]]]:
    rows, targets, routes = [], [], []
    baselines: dict[str, ContentsPublisher] = {}
    api = world.emulator.api_url
    for name in names:
        brief = world.brief(name)
        label = f"{brief['task']} r{brief['round']}"
        world.requests_log(clear=True)
        world.run(brief)
        calls = world.requests_log(clear=True)
        ours = len(calls)
        polls = sum(1 for c in calls if c.get("route") == POLL_ROUTE)
        routes.append((label, Counter(str(c.get("route") or c["path"]) for c in calls)))
        _, files = read_files(f"{world.emulator.service.url}/{USER}/{brief['task']}.git", world.emulator.token,
                              "main")
        task = brief["task"]
        baseline = baselines.setdefault(task, ContentsPublisher(api, world.emulator.token, USER, f"{task}-contents"))
        try:
            baseline.publish(files, f"round {brief['round']}")
        except ContentsError as exc:
            raise CannotMeasure(f"the Contents API baseline failed: {exc}") from None
        contents_calls = world.requests_log(clear=True)
        contents = len(contents_calls)
        puts = sum(1 for c in contents_calls if c["method"] == "PUT")
        binaries = binary_attachments(brief)
        target, write_target = TARGET_BASE + binaries, TARGET_WRITES + binaries
        writes = writes_of(calls)
        rows.append([label, str(binaries), str(ours), str(polls), str(ours - polls), f"<= {target}", str(writes),
                     f"<= {write_target}", str(contents), str(writes_of(contents_calls)), str(puts),
                     ratio(ours - polls, contents)])
        targets.append(Target(label, ours <= target, f"{label} {ours} calls <= {target}"))
        targets.append(Target(f"{label} writes", writes <= write_target,
                              f"{label} {writes} content-creating calls <= {write_target}"))
    return rows, targets, routes


def writes_of(calls: list[dict[str, Any]]) -> int:
    return sum(1 for c in calls if c["method"] in CONTENT_METHODS)


def main(argv: list[str] | None = None) -> int:
    return main_guard(run, parser(__doc__.splitlines()[0]).parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
