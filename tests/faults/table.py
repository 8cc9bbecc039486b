"""The fault table: scenario, outcome, briefs accepted / notified / lost / duplicated, one row per scenario that ran.

A pytest plugin (registered by tests/conftest.py, so it is loaded in pytest-xdist's controlling process too, which
collects no tests, and so its `ledger` fixture serves every test directory). A test records its row with `ledger`
once it has observed the outcome; the row travels in `user_properties` with the test's report to the controller,
and the table is printed once at the end. Only what ran is printed: a test that did not run has no row, a test that
failed after recording has its row marked TEST FAILED, and the heading counts exactly the rows below it.
For the receiver's rows, "notified" counts briefs dispatched to GitHub (what the receiver owes).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import pytest

ROW_KEY = "fault_row"

Ledger = Callable[..., None]


@dataclass(frozen=True)
class Row:
    scenario: str
    outcome: str
    accepted: int
    notified: int
    lost: int
    duplicated: int
    failed: bool = False


@pytest.fixture
def ledger(request: pytest.FixtureRequest) -> Ledger:
    """`ledger(scenario, outcome, accepted=, notified=, lost=, duplicated=)`: this test's row of the table."""

    def record(scenario: str, outcome: str, *, accepted: int, notified: int, lost: int, duplicated: int) -> None:
        row = Row(scenario, outcome, accepted, notified, lost, duplicated)
        request.node.user_properties.append((ROW_KEY, json.dumps(asdict(row))))

    return record


_ROWS: list[Row] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call":
        return
    for key, value in report.user_properties:
        if key == ROW_KEY:
            row = Row(**json.loads(str(value)))
            if report.failed:
                row = Row(row.scenario, f"TEST FAILED ({row.outcome})", row.accepted, row.notified, row.lost,
                          row.duplicated, failed=True)
            _ROWS.append(row)


def heading(rows: list[Row]) -> str:
    """What the rows count, and nothing they do not."""
    lost, duplicated, failed = (sum(r.lost for r in rows), sum(r.duplicated for r in rows), sum(r.failed for r in rows))
    words = [f"{len(rows)} scenario{'s' if len(rows) != 1 else ''} ran", f"{lost} lost", f"{duplicated} duplicated"]
    if failed:
        words.append(f"{failed} test{'s' if failed != 1 else ''} failed")
    return "faults: " + ", ".join(words)


def fault_table(rows: list[Row]) -> list[str]:
    header = ("scenario", "outcome", "accepted", "notified", "lost", "duplicated")
    cells = [header] + [(r.scenario, r.outcome, *(str(n) for n in (r.accepted, r.notified, r.lost, r.duplicated)))
                        for r in sorted(rows, key=lambda r: r.scenario)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    totals = [sum(getattr(r, k) for r in rows) for k in ("accepted", "notified", "lost", "duplicated")]
    lines.append(f"totals: accepted {totals[0]}, notified {totals[1]}, lost {totals[2]}, duplicated {totals[3]}")
    return lines


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _ROWS:
        return
    terminalreporter.section(heading(_ROWS))
    for line in fault_table(_ROWS):
        terminalreporter.write_line(line)
