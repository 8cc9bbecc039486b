"""Telling the receiver how its brief is doing, stage by stage (deployer.progress), without ever failing the run.

The dispatch payload carries a report link (`report_url` + a `report_token` for this brief only); a run without one
(a brief pasted by hand, a dispatch made by hand) reports nothing. Reporting is best effort and bounded: each POST
waits at most TIMEOUT, all of them together at most BUDGET_S, and after MAX_FAILURES failures in a row, or any answer
that will not change (401, 404, 400...), the reporter goes quiet with one warning in the log. The token is masked in
the log; every text sent goes through the log's redaction first, so no secret of the run leaves in a report.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import requests

from action.gha import Log
from deployer.dispatch_payload import ReportLink, read_report_link
from deployer.progress import FACT_CHARS, RUN_STAGE, Event, RunRef

TIMEOUT = (3.05, 5.0)  # connect, read (seconds)
BUDGET_S = 60.0
MAX_FAILURES = 3
RETRIED = frozenset({408, 429, 500, 502, 503, 504})  # answers that may change: keep trying the next events
# The job summary's facts (action/main.py, Report.facts) that the receiver shows, by their contract names.
SUMMARY_FACTS = {"repository": "repo_url", "commit": "commit_sha", "page": "pages_url", "notified": "notification"}


def run_ref(env: Mapping[str, str]) -> RunRef | None:
    """This workflow run, from GitHub's default variables; None outside Actions."""
    run_id, attempt = env.get("GITHUB_RUN_ID", ""), env.get("GITHUB_RUN_ATTEMPT", "1")
    if not run_id.isdigit() or int(run_id) <= 0:
        return None
    server, repo = env.get("GITHUB_SERVER_URL", "").rstrip("/"), env.get("GITHUB_REPOSITORY", "")
    url = f"{server}/{repo}/actions/runs/{run_id}" if server.startswith(("http://", "https://")) and repo else None
    return RunRef(int(run_id), int(attempt) if attempt.isdigit() and int(attempt) > 0 else 1, url)


def link_from_event(event_path: str | None) -> ReportLink | None:
    """The report link of a repository_dispatch event file, if it has one."""
    if not event_path:
        return None
    try:
        event = json.loads(Path(event_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    payload = event.get("client_payload") if isinstance(event, dict) else None
    return read_report_link(payload) if isinstance(payload, dict) else None


class Reporter:
    def __init__(self, link: ReportLink | None, run: RunRef | None, *, redact: Callable[[str], str] = str,
                 warn: Callable[[str], None] = print, session: requests.Session | None = None,
                 budget_s: float = BUDGET_S):
        self.link = link
        self.run = run
        self.redact = redact
        self.warn = warn
        self.http = session or requests.Session()
        self.budget_s = budget_s
        self.spent_s = 0.0
        self.failures = 0
        self.quiet = link is None
        self.sent: list[Event] = []  # what the receiver accepted, for the log and tests
        self._started = False
        self._facts: dict[str, str] = {}  # facts already sent

    @classmethod
    def for_run(cls, event_path: str | None, log: Log, env: Mapping[str, str] = os.environ) -> Reporter:
        """The reporter of this run, masking its token in `log` and redacting with it."""
        link = link_from_event(event_path)
        if link is not None:
            log.mask(link.token)
        return cls(link, run_ref(env), redact=log.redact, warn=log.warning)

    @contextmanager
    def stage(self, name: str, facts: Mapping[str, str]) -> Iterator[None]:
        """Report `name` started, then succeeded, or failed; each with the new `facts` (the job summary's) since the
        last report, so facts recorded between two stages go out with the next one."""
        self.report(name, "started", self._new_facts(facts))
        try:
            yield
        except BaseException:
            self.report(name, "failed")
            raise
        self.report(name, "succeeded", self._new_facts(facts))

    def succeeded(self, facts: Mapping[str, str]) -> None:
        """The run delivered its notification: the last event, with the run's facts."""
        self.report(RUN_STAGE, "succeeded", self._new_facts(facts))

    def failed(self, stage: str, error: str) -> None:
        """The run failed in `stage`, with the error line it prints (`::error::`)."""
        self.report(RUN_STAGE, "failed", {"stage": stage, "error": error})

    def report(self, stage: str, status: str, facts: Mapping[str, str] | None = None) -> bool:
        """Send one event (the run's own `started` goes first); False when it was not delivered."""
        if self.quiet:
            return False
        if not self._started and stage != RUN_STAGE:
            self._started = True
            self._send(Event(RUN_STAGE, "started", {}, self.run))
        self._started = True
        clean = {k: self.redact(v)[:FACT_CHARS[k]] for k, v in (facts or {}).items() if k in FACT_CHARS and v}
        return self._send(Event(stage, status, clean, self.run))

    def _new_facts(self, facts: Mapping[str, str]) -> dict[str, str]:
        named = {SUMMARY_FACTS.get(k, k): v for k, v in facts.items() if SUMMARY_FACTS.get(k, k) in FACT_CHARS}
        fresh = {k: v for k, v in named.items() if self._facts.get(k) != v and k not in ("stage", "error")}
        self._facts.update(fresh)
        return fresh

    def _send(self, event: Event) -> bool:
        if self.quiet or self.link is None:
            return False
        left = self.budget_s - self.spent_s
        if left <= 0:
            return self._give_up(f"reporting took {self.budget_s:.0f} s in all")
        began = time.monotonic()
        try:
            answer = self.http.post(self.link.url, json=event.body(),
                                    headers={"Authorization": f"Bearer {self.link.token}"},
                                    timeout=(min(TIMEOUT[0], left), min(TIMEOUT[1], left)))
        except requests.RequestException as exc:
            return self._failed(f"{type(exc).__name__}")
        finally:
            self.spent_s += time.monotonic() - began
        if answer.status_code == 200:
            self.failures = 0
            self.sent.append(event)
            return True
        if answer.status_code not in RETRIED:
            return self._give_up(f"the receiver answered HTTP {answer.status_code}: {self.redact(answer.text[:200])}")
        return self._failed(f"HTTP {answer.status_code}")

    def _failed(self, why: str) -> bool:
        self.failures += 1
        if self.failures >= MAX_FAILURES:
            return self._give_up(f"{self.failures} failures in a row, the last {why}")
        return False

    def _give_up(self, why: str) -> bool:
        self.quiet = True
        self.warn(f"progress reports to the receiver stopped ({why}); the deployment goes on")
        return False
