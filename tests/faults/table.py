"""The fault suite's table: scenario, outcome, briefs accepted / notified / lost / duplicated.

A pytest plugin (registered by tests/conftest.py, so it is loaded in pytest-xdist's controlling process too, which
collects no tests). Fault tests put their row in `user_properties`, which travel with each test report to the
controller; the table is printed once at the end, with the scenarios that other tests already prove.
For the receiver's rows, "notified" counts briefs dispatched to GitHub (what the receiver owes).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

ROW_KEY = "fault_row"

# Scenarios of the issue that tests elsewhere already prove; listed so the table shows the whole matrix.
PROVEN_ELSEWHERE = [
    ("evaluator 500 forever -> ::error:: at the deadline",
     "tests/e2e/test_action_run.py::test_deadline_passing_fails_the_notify_stage"),
    ("every model failing (one model) -> nothing committed",
     "tests/e2e/test_action_run.py::test_every_model_failing_commits_nothing"),
    ("rounds 1 and 2 overlapping", "tests/e2e/test_rounds.py::test_rounds_one_and_two_racing_make_one_repository_and_"
                                   "lose_no_round"),
    ("receiver data directory read-only -> 503, heals",
     "tests/receiver/test_receiver_process.py::test_read_only_data_dir_answers_503_then_heals"),
    ("receiver SIGKILL with GitHub failing -> each once",
     "tests/receiver/test_receiver_dispatch.py::test_crash_with_dispatch_failing_loses_nothing_and_sends_each_once"),
    ("GitHub 502 x2 on the tree", "tests/e2e/test_action_run.py::test_github_502_twice_on_the_tree_call_is_retried"),
]


@dataclass(frozen=True)
class Row:
    scenario: str
    outcome: str
    accepted: int
    notified: int
    lost: int
    duplicated: int


_ROWS: list[Row] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call":
        return
    for key, value in report.user_properties:
        if key == ROW_KEY:
            row = Row(**json.loads(str(value)))
            if report.failed:
                row = Row(row.scenario, f"TEST FAILED ({row.outcome})", row.accepted, row.notified, row.lost,
                          row.duplicated)
            _ROWS.append(row)


def fault_table(rows: list[Row]) -> list[str]:
    header = ("scenario", "outcome", "accepted", "notified", "lost", "duplicated")
    cells = [header] + [(r.scenario, r.outcome, *(str(n) for n in (r.accepted, r.notified, r.lost, r.duplicated)))
                        for r in sorted(rows, key=lambda r: r.scenario)]
    cells += [(scenario, f"proven by {where}", "-", "-", "-", "-") for scenario, where in PROVEN_ELSEWHERE]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    totals = [sum(getattr(r, k) for r in rows) for k in ("accepted", "notified", "lost", "duplicated")]
    lines.append(f"totals: accepted {totals[0]}, notified {totals[1]}, lost {totals[2]}, duplicated {totals[3]}")
    return lines


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _ROWS:
        return
    terminalreporter.section("faults: nothing lost, nothing duplicated")
    for line in fault_table(_ROWS):
        terminalreporter.write_line(line)
