"""Check what a build script wrote before it is committed: sizes, text, JSON and CSV parse, and a CSV converted
from a spreadsheet attachment holds the spreadsheet's cells.

A spreadsheet is compared with the CSV cell by cell on its first (active) sheet, after dropping the empty rows and
columns at the end: a number equals a CSV cell that parses to the same number, an empty cell equals "", a date
equals its ISO form or Python's `str()` of it, anything else its text. The CSV is matched with the `.xlsx`
attachment of the same stem (`data.csv` <- `data.xlsx`), or with the only `.xlsx` attachment there is.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import posixpath
from collections.abc import Mapping, Sequence

from action.validate import MAX_FILE_BYTES, find_secrets

MAX_OUTPUTS_BYTES = 4 * 1024 * 1024
MAX_MISMATCHES_SHOWN = 5


def check_outputs(
    outputs: Mapping[str, bytes], attachments: Mapping[str, bytes], secrets: Sequence[str] = (),
) -> list[str]:
    """Problems with the outputs, each naming its file; empty means commit them."""
    problems: list[str] = []
    total = sum(len(data) for data in outputs.values())
    if total > MAX_OUTPUTS_BYTES:
        problems.append(f"the outputs total {total} bytes, over the limit of {MAX_OUTPUTS_BYTES}")
    for path, data in outputs.items():
        if path in attachments:
            problems.append(f"{path}: is an attachment, committed as-is; the script must not overwrite it")
            continue
        if len(data) > MAX_FILE_BYTES:
            problems.append(f"{path}: is {len(data)} bytes, over the limit of {MAX_FILE_BYTES} per file")
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            problems.append(f"{path}: is not UTF-8 text; outputs are text files")
            continue
        problems += [f"{path}: {m}" for m in find_secrets(text, secrets)]
        lower = path.lower()
        if lower.endswith(".json"):
            try:
                json.loads(text)
            except ValueError as exc:
                problems.append(f"{path}: is not valid JSON ({exc})")
        elif lower.endswith(".csv"):
            problems += [f"{path}: {m}" for m in csv_problems(path, text, attachments)]
    return problems


def csv_problems(path: str, text: str, attachments: Mapping[str, bytes]) -> list[str]:
    try:
        rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
    except csv.Error as exc:
        return [f"is not valid CSV ({exc})"]
    if not rows:
        return ["is empty"]
    source = spreadsheet_for(path, attachments)
    if source is None:
        return []
    name, data = source
    try:
        cells = sheet_cells(data)
    except Exception as exc:  # openpyxl raises many kinds on a bad file; the message is what matters
        return [f"cannot be compared with {name}, which does not open as a spreadsheet ({exc})"]
    return [f"differs from {name}: {m}" for m in compare_cells(cells, _trim(rows))]


def spreadsheet_for(path: str, attachments: Mapping[str, bytes]) -> tuple[str, bytes] | None:
    sheets = {n: d for n, d in attachments.items() if n.lower().endswith(".xlsx")}
    stem = posixpath.splitext(posixpath.basename(path))[0]
    same = [n for n in sheets if posixpath.splitext(n)[0] == stem]
    if same:
        return same[0], sheets[same[0]]
    if len(sheets) == 1:
        return next(iter(sheets.items()))
    return None


def sheet_cells(data: bytes) -> list[list[object]]:
    """The active sheet's values (formulas as their cached results), without trailing empty rows/columns."""
    import openpyxl  # only a spreadsheet comparison needs it

    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        sheet = book.active
        rows = [list(row) for row in sheet.iter_rows(values_only=True)] if sheet is not None else []
    finally:
        book.close()
    return _trim(rows)


def _trim(rows: Sequence[Sequence[object]]) -> list[list[object]]:
    def empty(value: object) -> bool:
        return value is None or value == ""

    out = [list(row) for row in rows]
    for row in out:
        while row and empty(row[-1]):
            row.pop()
    while out and not out[-1]:
        out.pop()
    return out


def compare_cells(expected: list[list[object]], actual: list[list[str]]) -> list[str]:
    problems = []
    if len(expected) != len(actual):
        problems.append(f"the spreadsheet has {len(expected)} rows, the CSV {len(actual)}")
    for r, (want_row, got_row) in enumerate(zip(expected, actual, strict=False), start=1):
        width = max(len(want_row), len(got_row))
        for c in range(width):
            want = want_row[c] if c < len(want_row) else None
            got = got_row[c] if c < len(got_row) else ""
            if not cell_equal(want, got):
                problems.append(f"row {r}, column {c + 1}: the spreadsheet has {want!r}, the CSV {got!r}")
    if len(problems) > MAX_MISMATCHES_SHOWN:
        problems = [*problems[:MAX_MISMATCHES_SHOWN], f"and {len(problems) - MAX_MISMATCHES_SHOWN} more differences"]
    return problems


def cell_equal(want: object, got: str) -> bool:
    if want is None:
        return got == ""
    if isinstance(want, bool):
        return got.strip().lower() == str(want).lower()
    if isinstance(want, int | float):
        try:
            number = float(got)
        except ValueError:
            return False
        return math.isclose(number, float(want), rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(want, dt.datetime | dt.date | dt.time):
        forms = {want.isoformat(), str(want)}
        if isinstance(want, dt.datetime) and want.time() == dt.time(0):
            forms.add(want.date().isoformat())
        return got in forms
    return got == str(want)
