"""What GitHub's Actions API says about the run that took a brief: pure functions over its answers.

Used for runs that never reported back (they crashed before, were cancelled, their install failed, or the runners
cannot reach PUBLIC_URL), and for the status of runs that did. The run is the one whose `display_title` names the
brief (deploy.yml's `run-name`, deployer.dispatch_payload). A failed run's error line comes from its annotations:
`GET .../actions/runs/{id}/jobs`, then each failed job's check run `GET .../check-runs/{job id}/annotations`, the way
`gh run view` finds them (cli/cli#3577: annotations are read per job's check run; a skipped job's answer 404).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from deployer.dispatch_payload import run_title_mark

# The runner adds this failure annotation to every failed step (e.g. EnricoMi/publish-unit-test-result-action#620
# shows it after the step's own error); it says less than an `::error::` line of ours, so it is the last choice.
GENERIC_EXIT = "Process completed with exit code"
ERROR_CHARS = 2000


@dataclass(frozen=True)
class RunFacts:
    id: int
    url: str | None
    status: str | None  # queued, in_progress, completed (GitHub also has waiting, requested, pending)
    conclusion: str | None  # success, failure, cancelled, timed_out, ... once completed
    created_at: str | None = None
    updated_at: str | None = None
    error: str | None = None  # a failed run's error line, from its annotations
    error_checked: bool = False  # its annotations were read (or cannot be): never asked for again

    @property
    def completed(self) -> bool:
        return self.status == "completed"

    @property
    def settled(self) -> bool:
        """Nothing more to learn from GitHub: completed, and a failure's annotations already read."""
        return self.completed and (self.conclusion == "success" or self.error_checked)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def runs_by_brief(answer: Mapping[str, Any], brief_ids: Iterable[str]) -> dict[str, RunFacts]:
    """The run of each brief in one page of `GET .../actions/runs` (newest first: a brief dispatched twice shows its
    latest run)."""
    wanted = {run_title_mark(brief_id): brief_id for brief_id in brief_ids}
    found: dict[str, RunFacts] = {}
    runs = answer.get("workflow_runs")
    for run in runs if isinstance(runs, list) else []:
        if not isinstance(run, Mapping) or not isinstance(run.get("id"), int):
            continue
        title = run.get("display_title")
        for mark, brief_id in wanted.items():
            if isinstance(title, str) and mark in title and brief_id not in found:
                found[brief_id] = facts_of(run)
    return found


def facts_of(run: Mapping[str, Any]) -> RunFacts:
    def text(key: str) -> str | None:
        value = run.get(key)
        return value if isinstance(value, str) else None

    return RunFacts(int(run["id"]), text("html_url"), text("status"), text("conclusion"), text("created_at"),
                    text("updated_at"))


def failed_check_runs(answer: Mapping[str, Any]) -> list[str]:
    """The check-run URLs (`check_run_url`) of the failed jobs in `GET .../actions/runs/{id}/jobs`."""
    jobs = answer.get("jobs")
    if not isinstance(jobs, list):
        return []
    return [job["check_run_url"] for job in jobs
            if isinstance(job, Mapping) and job.get("conclusion") in ("failure", "timed_out", "cancelled")
            and isinstance(job.get("check_run_url"), str)]


def error_line(annotations: Iterable[object]) -> str | None:
    """The failure annotation that says most: ours (`<stage> stage failed: ...`) before the runner's exit code."""
    failures = [a for a in annotations if isinstance(a, Mapping) and a.get("annotation_level") == "failure"
                and isinstance(a.get("message"), str) and a["message"].strip()]
    if not failures:
        return None
    failures.sort(key=lambda a: str(a["message"]).startswith(GENERIC_EXIT))
    return str(failures[0]["message"]).strip()[:ERROR_CHARS]
