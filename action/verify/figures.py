"""The numbers a data attachment determines, and the numbers a page shows. Pure.

A figure is what code computes from a CSV or JSON attachment: a numeric column's sum, mean, minimum and maximum, a
group's sum and mean (rows grouped by a text column), the sum of two columns' products, a number stored in JSON.
Each has a key that names it independently of the numbers (`data.csv: sum of sales`), so the same key read from
other data of the same shape (action/verify/perturb.py) gives that figure for the other data.

Row counts are no figures here: data of the same shape has the same count, so no perturbation can tell a computed
count from a typed-in one.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

NUMBER_CELL_RE = re.compile(r"^\s*[-+]?\d+(?:\.\d+)?\s*$")
# A number as a page writes it: 5109.25, 5,109.25, -3; not part of a word or an id (SO-1001, h1, v2.0.1).
SHOWN_NUMBER_RE = re.compile(r"(?<![\w.,-])(-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)(?![\w]|[.,]\d)")
MAX_ROWS = 100_000
MAX_GROUPS = 50  # a text column with more distinct values is an id, not a category
MAX_PRODUCT_COLUMNS = 6
MAX_DEPTH = 4
MIN_WHOLE = 10  # whole numbers below this (1, 3, 7) are too common in any text to stand for a figure


@dataclass(frozen=True)
class Figure:
    key: str  # what is computed, from which file: stable across data of the same shape
    value: float


@dataclass(frozen=True)
class Shown:
    """A number in an element's text, as written."""

    text: str
    value: float
    decimals: int


def is_data(name: str, media_type: str = "") -> bool:
    """Attachments whose figures we compute and perturb: CSV, TSV and JSON."""
    lower = name.lower()
    return lower.endswith((".csv", ".tsv", ".json")) or media_type in ("text/csv", "application/json")


def figures(name: str, data: bytes) -> dict[str, Figure]:
    """Every figure of one attachment, by key; {} for anything we cannot read as data."""
    text = data.decode("utf-8-sig", errors="replace")
    try:
        if name.lower().endswith(".json"):
            tables, scalars = json_tables(json.loads(text))
        else:
            tables, scalars = [("", csv_records(text))], {}
    except (ValueError, RecursionError, csv.Error):  # not data we can read (a NUL byte, nesting too deep)
        return {}
    found: dict[str, Figure] = {}
    for where, value in scalars.items():
        found[f"{name}: {where}"] = Figure(f"{name}: {where}", value)
    for where, records in tables:
        for figure in table_figures(f"{name}{where}", records):
            found[figure.key] = figure
    return found


def csv_records(text: str) -> list[dict[str, str]]:
    rows = [r for r in csv.reader(io.StringIO(text), delimiter=delimiter(text)) if any(c.strip() for c in r)]
    if len(rows) < 2:
        return []
    head = [h.strip() for h in rows[0]]
    return [dict(zip(head, (c.strip() for c in row), strict=False)) for row in rows[1:MAX_ROWS + 1]]


def delimiter(text: str) -> str:
    first = text.split("\n", 1)[0]
    return max((",", ";", "\t", "|"), key=first.count)


def json_tables(value: Any) -> tuple[list[tuple[str, list[dict[str, Any]]]], dict[str, float]]:
    """Lists of records (objects) and lists of numbers found in a JSON document, and its numbers elsewhere."""
    tables: list[tuple[str, list[dict[str, Any]]]] = []
    scalars: dict[str, float] = {}

    def walk(node: Any, path: str, depth: int) -> None:
        if depth > MAX_DEPTH:
            return
        if isinstance(node, dict):
            for key, child in node.items():
                walk(child, f"{path}.{key}" if path else str(key), depth + 1)
        elif isinstance(node, list):
            records = [n for n in node if isinstance(n, dict)]
            numbers = [n for n in node if is_number(n)]
            if records and len(records) == len(node):
                tables.append((f" {path}" if path else "", records[:MAX_ROWS]))
            elif numbers and len(numbers) == len(node):
                tables.append((f" {path}" if path else "", [{"value": n} for n in numbers[:MAX_ROWS]]))
        elif is_number(node) and path:
            scalars[f"value of {path}"] = float(node)

    walk(value, "", 0)
    return tables, scalars


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def table_figures(where: str, records: Sequence[Mapping[str, Any]]) -> Iterator[Figure]:
    columns = list(dict.fromkeys(k for r in records for k in r))
    numeric = {c: values for c in columns if (values := column_numbers(records, c)) is not None}
    for column, values in numeric.items():
        for stat, value in stats(values):
            yield Figure(f"{where}: {stat} of {column}", value)
    for first, second in combinations(list(numeric)[:MAX_PRODUCT_COLUMNS], 2):
        products = [a * b for a, b in zip(numeric[first], numeric[second], strict=True)]
        yield Figure(f"{where}: sum of {first} x {second}", sum(products))
    for group in columns:
        if group in numeric:
            continue
        keys = [str(r.get(group, "")) for r in records]
        if not 1 < len(set(keys)) <= MAX_GROUPS or len(set(keys)) == len(keys):  # no categories, or an id
            continue
        for column, values in numeric.items():
            grouped: dict[str, list[float]] = {}
            for key, value in zip(keys, values, strict=True):
                grouped.setdefault(key, []).append(value)
            for key, members in grouped.items():
                yield Figure(f"{where}: sum of {column} where {group} = {key}", sum(members))
                yield Figure(f"{where}: mean of {column} where {group} = {key}", sum(members) / len(members))


def column_numbers(records: Sequence[Mapping[str, Any]], column: str) -> list[float] | None:
    """The column as numbers (empty cells as 0), or None when any cell is not a number."""
    values: list[float] = []
    for record in records:
        cell = record.get(column)
        if cell is None or cell == "":
            values.append(0.0)
        elif is_number(cell) or (isinstance(cell, str) and NUMBER_CELL_RE.match(cell)):
            values.append(float(cell))
        else:
            return None
    return values if any(record.get(column) not in (None, "") for record in records) else None


def stats(values: Sequence[float]) -> list[tuple[str, float]]:
    return [("sum", sum(values)), ("mean", sum(values) / len(values)), ("minimum", min(values)),
            ("maximum", max(values))]


def shown_numbers(text: str) -> list[Shown]:
    """The numbers an element's text shows, thousands separators allowed."""
    found = []
    for match in SHOWN_NUMBER_RE.finditer(text):
        written = match.group(1)
        decimals = len(written.split(".", 1)[1]) if "." in written else 0
        found.append(Shown(written, float(written.replace(",", "")), decimals))
    return found


def shows(shown: Shown, value: float) -> bool:
    """Whether `shown` is `value` written to its precision; small whole numbers never count (see MIN_WHOLE), and a
    whole number stands only for a whole figure."""
    if shown.decimals == 0:
        return abs(shown.value) >= MIN_WHOLE and abs(value - round(value)) < 1e-9 and shown.value == round(value)
    return abs(shown.value - value) <= 0.5 * 10 ** -shown.decimals + 1e-9
