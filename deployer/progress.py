"""The progress contract: what a deploy run tells the receiver about its brief, `POST /briefs/{id}/events`.

The action (action/progress.py) builds these bodies and the receiver (receiver/status_api.py) reads them with
`parse_event`, so both sides agree on one shape and one set of limits. A body says which stage of `deployer run`
started, succeeded or failed (`RUN_STAGE` stands for the whole run: its first and last event), the facts known
once it ended (repository, commit, page, the notification's answer, the error line of a failure) and which
workflow run speaks. Everything in it is public or about to be (URLs of a public repository and page); the action
redacts its secrets from the error line before sending it, and the receiver redacts its own again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

STATUSES = ("started", "succeeded", "failed")
RUN_STAGE = "run"  # the whole run: `started` before its first stage, `succeeded`/`failed` after its last
MAX_BODY_BYTES = 16 * 1024
URL_CHARS = 2048
STAGE_RE = re.compile(r"[a-z][a-z0-9 _-]{0,39}")
SHA_RE = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
# fact -> longest text it may be; URLs must be http(s).
# `stage` and `error` go with a failed RUN_STAGE: which stage failed, and its error line.
FACT_CHARS = {"repo_url": URL_CHARS, "commit_sha": 64, "pages_url": URL_CHARS, "notification": 300, "stage": 40,
              "error": 2000}
URL_FACTS = ("repo_url", "pages_url")


class EventError(ValueError):
    """A progress body that breaks the contract; `problems` names each field and what is wrong with it."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{field}: {message}" for field, message in problems))

    def as_list(self) -> list[dict[str, str]]:
        """The receiver's error detail, shaped like a brief's field errors."""
        return [{"field": field, "message": message} for field, message in self.problems]


@dataclass(frozen=True)
class RunRef:
    """The workflow run that sends the event (GITHUB_RUN_ID, GITHUB_RUN_ATTEMPT, and its page)."""

    id: int
    attempt: int = 1
    url: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "attempt": self.attempt, "url": self.url}


@dataclass(frozen=True)
class Event:
    stage: str
    status: str
    facts: dict[str, str] = field(default_factory=dict)
    run: RunRef | None = None

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"stage": self.stage, "status": self.status, "facts": dict(self.facts)}
        if self.run is not None:
            out["run"] = self.run.as_dict()
        return out


def is_http_url(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://")) and len(value) <= URL_CHARS \
        and not any(c.isspace() for c in value)


def parse_event(data: object) -> Event:
    """The event in `data`, or EventError naming every problem; unknown top-level keys and facts are refused, so a
    sender that drifts from the contract hears about it instead of losing facts silently."""
    if not isinstance(data, Mapping):
        raise EventError([("(body)", "must be a JSON object")])
    problems = [(str(key), "unknown field") for key in data if key not in ("stage", "status", "facts", "run")]
    stage, status = data.get("stage"), data.get("status")
    if not isinstance(stage, str) or STAGE_RE.fullmatch(stage) is None:
        problems.append(("stage", "must be 1-40 characters of a-z, 0-9, space, _ or -, starting with a letter"))
    if status not in STATUSES:
        problems.append(("status", f"must be one of {', '.join(STATUSES)}"))
    facts = _facts(data.get("facts", {}), problems)
    run = _run(data.get("run"), problems)
    if problems:
        raise EventError(problems)
    assert isinstance(stage, str) and isinstance(status, str)
    return Event(stage, status, facts, run)


def _facts(raw: object, problems: list[tuple[str, str]]) -> dict[str, str]:
    if not isinstance(raw, Mapping):
        problems.append(("facts", "must be an object"))
        return {}
    facts: dict[str, str] = {}
    for key, value in raw.items():
        limit = FACT_CHARS.get(key)
        if limit is None:
            problems.append((f"facts.{key}", f"unknown fact (known: {', '.join(FACT_CHARS)})"))
        elif not isinstance(value, str) or not value or len(value) > limit:
            problems.append((f"facts.{key}", f"must be a non-empty string of at most {limit} characters"))
        elif key in URL_FACTS and not is_http_url(value):
            problems.append((f"facts.{key}", "must be an http(s) URL"))
        elif key == "commit_sha" and SHA_RE.fullmatch(value) is None:
            problems.append(("facts.commit_sha", "must be a full commit SHA (40 or 64 lower-case hex digits)"))
        elif key == "stage" and STAGE_RE.fullmatch(value) is None:
            problems.append(("facts.stage", "must be a stage name like the event's own"))
        else:
            facts[key] = value
    return facts


def _run(raw: object, problems: list[tuple[str, str]]) -> RunRef | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        problems.append(("run", "must be an object {id, attempt, url}"))
        return None
    run_id, attempt, url = raw.get("id"), raw.get("attempt", 1), raw.get("url")
    ok = True
    if not _positive_int(run_id):
        problems.append(("run.id", "must be a positive integer"))
        ok = False
    if not _positive_int(attempt):
        problems.append(("run.attempt", "must be a positive integer"))
        ok = False
    if url is not None and not is_http_url(url):
        problems.append(("run.url", "must be an http(s) URL"))
        ok = False
    return RunRef(int(run_id), int(attempt), url) if ok else None  # type: ignore[arg-type]


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**53
