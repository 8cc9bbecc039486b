"""The dispatch contract: what the receiver sends GitHub for one brief, and how a workflow run reads it back.

GitHub's `client_payload` allows at most 10 top-level properties and under 64 KB in all ("Create a repository
dispatch event", REST docs). The brief is nested under one key, so the property count never grows with the brief;
a brief too large for a payload goes by reference and the action fetches it from the receiver with a one-brief token:

- inline:    {"id", "accepted_at", ["report_url", "report_token",] "brief": {the brief without its secret}}   ("brief"
  last: a sender may splice stored JSON in as bytes)
- reference: {"id", "accepted_at", "brief_url", "brief_token", "task", "round"[, "report_url", "report_token"]}
  (task and round because the deploy workflow's concurrency group needs the task before the brief is fetched; both
  are public already: they name the repository)

`report_url` + `report_token` (both or neither): where the run reports its progress (deployer/progress.py) and the
token that lets it report on this brief only, nothing else (it opens no brief and reads nothing).

A run of the deploy workflow is titled (`run-name`) with `[brief <id>]`, so the receiver can find the run that a
dispatch started when it never saw GitHub's answer (deploy.yml; tests/test_dispatch_payload.py holds them together).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

EVENT_TYPE = "deploy-brief"
MAX_REQUEST_BYTES = 64_000  # GitHub: "less than 64KB"; 64,000 is under both 64,000 and 65,536


@dataclass(frozen=True)
class ReportLink:
    """Where and how a run reports its progress to the receiver (`POST <url>` with `Authorization: Bearer <token>`)."""

    url: str
    token: str = field(repr=False)

    def payload(self) -> dict[str, str]:
        return {"report_url": self.url, "report_token": self.token}


@dataclass(frozen=True)
class Inline:
    id: str | None
    accepted_at: str | None
    brief: dict[str, Any]
    report: ReportLink | None = None

    def payload(self) -> dict[str, Any]:
        return {"id": self.id, "accepted_at": self.accepted_at, **(self.report.payload() if self.report else {}),
                "brief": self.brief}


@dataclass(frozen=True)
class Reference:
    id: str | None
    accepted_at: str | None
    brief_url: str
    brief_token: str = field(repr=False)
    task: str | None = None
    round: int | None = None
    report: ReportLink | None = None

    def payload(self) -> dict[str, Any]:
        return {"id": self.id, "accepted_at": self.accepted_at, "brief_url": self.brief_url,
                "brief_token": self.brief_token, "task": self.task, "round": self.round,
                **(self.report.payload() if self.report else {})}


def request_body(payload: Inline | Reference) -> dict[str, Any]:
    """The body of `POST /repos/{owner}/{repo}/dispatches`."""
    return {"event_type": EVENT_TYPE, "client_payload": payload.payload()}


def read_payload(payload: Mapping[str, Any]) -> Inline | Reference | None:
    """The client_payload of a repository_dispatch as one of the two shapes; None when it is neither (a dispatch
    made by hand that carries the brief's fields directly)."""
    brief_id = payload.get("id") if isinstance(payload.get("id"), str) else None
    accepted_at = payload.get("accepted_at") if isinstance(payload.get("accepted_at"), str) else None
    report = read_report_link(payload)
    if isinstance(payload.get("brief"), dict):
        return Inline(brief_id, accepted_at, payload["brief"], report)
    url, token = payload.get("brief_url"), payload.get("brief_token")
    if isinstance(url, str) and isinstance(token, str):
        task = payload.get("task") if isinstance(payload.get("task"), str) else None
        rnd = payload.get("round") if isinstance(payload.get("round"), int) else None
        return Reference(brief_id, accepted_at, url, token, task, rnd, report)
    return None


def read_report_link(payload: Mapping[str, Any]) -> ReportLink | None:
    """The payload's report link when it carries a usable one (an http(s) URL and a token), else None."""
    url, token = payload.get("report_url"), payload.get("report_token")
    if isinstance(url, str) and url.startswith(("http://", "https://")) and isinstance(token, str) and token:
        return ReportLink(url, token)
    return None


def run_title_mark(brief_id: str) -> str:
    """How a run's title names the brief it deploys (deploy.yml's `run-name` writes it)."""
    return f"[brief {brief_id}]"


def names_brief(display_title: object, brief_id: str) -> bool:
    return isinstance(display_title, str) and run_title_mark(brief_id) in display_title
