"""`deployer status [ID] [--watch]`: what became of briefs, in the terminal, from a receiver's JSON API.

A table of recent briefs (`GET /briefs`), or one brief's steps and timeline (`GET /briefs/ID/story`), the same facts
the status page shows. The receiver is RECEIVER_URL (or --url) and SHARED_SECRET is sent as a Bearer token, never
in the URL. `--watch` redraws every INTERVAL_S until nothing shown is in flight. Exit status: 0, or 1 when the
receiver cannot be read or the one brief asked for failed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any, TextIO

from deployer.isotime import display
from deployer.send import SendError, call

DEFAULT_URL = "http://127.0.0.1:8000"
INTERVAL_S = 2.0
MARKS = {"done": "✓", "active": "●", "failed": "✗", "waiting": "·"}
ASCII_MARKS = {"done": "+", "active": ">", "failed": "x", "waiting": "."}
STATE_WORDS = {"in_flight": "in flight", "succeeded": "succeeded", "failed": "FAILED"}


class StatusError(RuntimeError):
    pass


def fetch(url: str, secret: str, path: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
    """GET one JSON document of the receiver; StatusError with the receiver's own words otherwise."""
    try:
        status, data = call("GET", f"{url.rstrip('/')}{path}", params=params,
                            headers={"Authorization": f"Bearer {secret}", "Accept": "application/json"})
    except SendError as exc:
        raise StatusError(f"{exc} (RECEIVER_URL, --url)") from None
    if status == 401:
        raise StatusError("the receiver refused SHARED_SECRET (HTTP 401): is it the receiver's own?")
    if status != 200 or not isinstance(data, dict):
        detail = data.get("detail") if isinstance(data, dict) else data
        raise StatusError(f"{url}{path} answered HTTP {status}: {detail}")
    return data


def _marks(stream: TextIO) -> dict[str, str]:
    try:
        "".join(MARKS.values()).encode(stream.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return ASCII_MARKS
    return MARKS


def steps_line(steps: list[dict[str, Any]], marks: Mapping[str, str]) -> str:
    return " ".join(f"{marks.get(s.get('state', ''), '?')}{s.get('name')}" for s in steps)


def table(listing: Mapping[str, Any], marks: Mapping[str, str]) -> list[str]:
    """One line per brief, newest first, and under a failed one its error line."""
    briefs = listing.get("briefs") or []
    if not briefs:
        return ["no briefs yet"]
    rows = [("ID", "TASK", "ROUND", "ACCEPTED (UTC)", "STATE", "STEPS")]
    errors: dict[int, str] = {}
    for brief in briefs:
        rows.append((str(brief["id"]), str(brief["task"]), str(brief["round"]), display(str(brief["accepted_at"])),
                     STATE_WORDS.get(brief["state"], brief["state"]), steps_line(brief["steps"], marks)))
        if brief.get("error"):
            errors[len(rows) - 1] = str(brief["error"])
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = []
    for index, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:5])) + "  " + row[5])
        if index in errors:
            lines.append(f"    error: {errors[index]}")
    return lines


def timeline(story: Mapping[str, Any], marks: Mapping[str, str]) -> list[str]:
    """One brief: its state, links and error, each step with its detail, then every event, oldest first."""
    lines = [f"brief {story['id']}: {story['task']} round {story['round']}, "
             f"{STATE_WORDS.get(story['state'], story['state'])}"]
    for name, url in (story.get("links") or {}).items():
        lines.append(f"  {name:<11} {url}")
    if story.get("notification"):
        lines.append(f"  {'evaluator':<11} {story['notification']}")
    if story.get("error"):
        lines.append(f"  {'error':<11} {story['error']}")
    lines.append("steps:")
    for step in story.get("steps") or []:
        detail = f"  {step['detail']}" if step.get("detail") else ""
        lines.append(f"  {marks.get(step['state'], '?')} {step['name']:<10} {step['state']:<8}{detail}".rstrip())
    lines.append("timeline (UTC):")
    for entry in story.get("timeline") or []:
        flag = "!" if entry.get("level") == "error" else " "
        lines.append(f" {flag}{display(str(entry['at']))}  {entry['text']}")
    return lines


def show(args: argparse.Namespace, url: str, secret: str, out: TextIO) -> dict[str, Any]:
    marks = _marks(out)
    if args.id:
        data = fetch(url, secret, f"/briefs/{args.id}/story")
        lines = timeline(data, marks)
    else:
        params = {k: v for k, v in (("task", args.task), ("state", args.state), ("limit", str(args.limit))) if v}
        data = fetch(url, secret, "/briefs", params)
        lines = table(data, marks)
    out.write("\n".join(lines) + "\n")
    out.flush()
    return data


def watch(draw: Callable[[], dict[str, Any]], out: TextIO, interval_s: float = INTERVAL_S) -> dict[str, Any]:
    """Draw until nothing is in flight; on a terminal each drawing replaces the last."""
    while True:
        if out.isatty():
            out.write("\x1b[H\x1b[2J")
        data = draw()
        if not data.get("in_flight"):
            return data
        time.sleep(interval_s)


def main(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    url = args.url or os.environ.get("RECEIVER_URL", "").strip() or DEFAULT_URL
    secret = os.environ.get("SHARED_SECRET", "")
    if not secret:
        print("deployer status: set SHARED_SECRET to the receiver's shared secret", file=sys.stderr)
        return 2
    try:
        data = watch(lambda: show(args, url, secret, out), out) if args.watch else show(args, url, secret, out)
    except StatusError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 1 if args.id and data.get("state") == "failed" else 0
