"""A text attachment as a prompt shows it within a budget of characters: whole, or cut with a summary. Pure.

A cut file is summarised so the model knows the whole of it without seeing it: its size, and for CSV its row
count, its columns and its first and last rows, for JSON its top-level keys (or length) and what they hold; then
the instruction to read the file at run time, so figures are computed from all of it and never from the part shown.
Wording lives in `prompts/truncated.md` (CSV) and `prompts/truncated-text.md` (anything else).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from string import Template
from typing import Any

from action.verify.figures import delimiter

TAIL_ROWS = 5  # a cut CSV shows its last rows too: totals, trailers and the range of dates live there
MAX_KEYS = 12
MAX_SUMMARY = 600
SHAPE_LINES = 2  # an earlier attachment's header and first row
SHAPE_CHARS = 300


def excerpt(name: str, text: str, limit: int, load: Callable[[str], str]) -> str:
    """`text` whole when it fits in `limit` characters, else a cut with a summary; `load(file)` reads a prompt file."""
    if len(text) <= limit:
        return text
    if name.lower().endswith((".csv", ".tsv")):
        try:
            cut = _csv_excerpt(name, text, limit, load)
        except csv.Error:  # e.g. a field over the csv module's limit: summarised as text
            cut = None
        if cut is not None:
            return cut
    summary = json_summary(text) if name.lower().endswith(".json") else ""
    return Template(load("truncated-text.md")).substitute(
        head=text[:limit], shown=limit, total=len(text), size=len(text.encode("utf-8")), name=name,
        summary=f" {summary}" if summary else "",
    ).rstrip("\n")


def _csv_excerpt(name: str, text: str, limit: int, load: Callable[[str], str]) -> str | None:
    rows = [r for r in csv.reader(io.StringIO(text), delimiter=delimiter(text)) if any(c.strip() for c in r)]
    if len(rows) < 2:
        return None
    sep = delimiter(text)
    lines = [_line(r, sep) for r in rows]
    header, body = lines[0], lines[1:]
    room = limit - len(header)
    tail = body[-TAIL_ROWS:] if len(body) > TAIL_ROWS else []
    if sum(len(t) + 1 for t in tail) > room // 2:  # the last rows take at most half of what is left
        tail = []
    room -= sum(len(t) + 1 for t in tail)
    head: list[str] = []
    for line in body[: len(body) - len(tail)]:
        if room < len(line) + 1:
            break
        head.append(line)
        room -= len(line) + 1
    if len(head) + len(tail) >= len(body):  # it all fits after all
        head, tail = body, []
    text_of = Template(load("truncated.md")).substitute(
        name=name, size=len(text.encode("utf-8")), rows=len(body), count=len(rows[0]),
        columns=", ".join(c.strip() for c in rows[0]), header=header,
        head="\n".join(head), tail="\n".join(tail),
        shown=f"the first {len(head)} rows" + (f", then the last {len(tail)}" if tail else ""),
    )
    return "\n".join(line for line in text_of.splitlines() if line)  # no empty head or tail lines


def _line(row: list[str], sep: str) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=sep, lineterminator="").writerow(row)
    return out.getvalue()


def json_summary(text: str) -> str:
    """`a JSON object with 2 keys: "meta" (an object with 3 keys), "rows" (an array of 1204 objects: id, name)`."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return "It is not valid JSON as a whole."
    summary = f"It is {_describe(value, top=True)}."
    return summary if len(summary) <= MAX_SUMMARY else summary[: MAX_SUMMARY - 2] + "…."


def _describe(value: Any, top: bool = False) -> str:
    if isinstance(value, dict):
        keys = list(value)
        if not top:
            return f"an object with {len(keys)} key{'s' * (len(keys) != 1)}"
        shown = ", ".join(f'"{k}" ({_describe(value[k])})' for k in keys[:MAX_KEYS])
        more = f", and {len(keys) - MAX_KEYS} more" if len(keys) > MAX_KEYS else ""
        return f"a JSON object with {len(keys)} key{'s' * (len(keys) != 1)}: {shown}{more}"
    if isinstance(value, list):
        kinds = {type(v).__name__ for v in value}
        prefix = "a JSON array" if top else "an array"
        if value and kinds == {"dict"}:
            fields = list(dict.fromkeys(k for v in value for k in v))[:MAX_KEYS]
            return f"{prefix} of {len(value)} objects: {', '.join(fields)}"
        return f"{prefix} of {len(value)} item{'s' * (len(value) != 1)}"
    if isinstance(value, bool) or value is None:
        return "a boolean" if isinstance(value, bool) else "null"
    return "a number" if isinstance(value, int | float) else "a string"


def shape(name: str, text: str, load: Callable[[str], str]) -> str:
    """An earlier round's text attachment as a later round shows it: whole when small, else its first lines and its
    size. The published code already reads the whole file, so a change needs its format (the columns, a row or
    two), not its data on every request; a cut file ends in the `[truncated: ...]` note like any other."""
    if len(text) <= SHAPE_CHARS:
        return text
    lines = text.splitlines()
    head = "\n".join(lines[:SHAPE_LINES])[:SHAPE_CHARS]
    rows = ""
    if name.lower().endswith((".csv", ".tsv")):
        try:
            count = sum(1 for row in csv.reader(io.StringIO(text), delimiter=delimiter(text))
                        if any(c.strip() for c in row))
        except csv.Error:
            count = 0
        rows = f", {count - 1} rows after its header" if count > 1 else ""
    return Template(load("shape.md")).substitute(head=head, name=name, size=len(text.encode("utf-8")),
                                                 rows=rows).rstrip("\n")
