"""Finding the run that a dispatch started, when the dispatcher never saw GitHub's answer to it.

GitHub answers a repository_dispatch with 204 and no run id (community discussion 9752; peter-evans/repository-dispatch
#402). The deploy workflow's `run-name` carries the brief id (deployer.dispatch_payload), so we search
`GET /repos/{owner}/{repo}/actions/runs?event=repository_dispatch&created=>=...` for a run titled with it. A run shows
up seconds after its dispatch, not at once (a run seen 8 s after its dispatch in Codex-/return-dispatch#183; that
action waits up to 300 s by default, `workflow_timeout_seconds`), so the search repeats until DISPATCH_LOOKUP_SECONDS
after the attempt began; a brief whose run is still not there is sent again.

Pure functions over plain data; the dispatcher does the requests.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from deployer.dispatch_payload import names_brief

CLOCK_SKEW_S = 300.0  # our clock and GitHub's may differ: search from this much before the attempt began
PER_PAGE = 100  # GitHub's maximum
MAX_PAGES = 10  # GitHub lists at most 1,000 runs for a filtered query ("List workflow runs for a repository")


def search_params(since: float, page: int) -> dict[str, str]:
    """The query of one page of repository_dispatch runs created from `since` (epoch s) on, newest first."""
    start = datetime.fromtimestamp(since - CLOCK_SKEW_S, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"event": "repository_dispatch", "created": f">={start}", "per_page": str(PER_PAGE), "page": str(page)}


def find_run(answer: Mapping[str, Any], brief_id: str, since: float) -> tuple[int | None, bool]:
    """The id of the run in this page that names `brief_id`, and whether a next page may still hold it."""
    runs = answer.get("workflow_runs")
    if not isinstance(runs, list):
        return None, False
    older = False
    for run in runs:
        if not isinstance(run, Mapping):
            continue
        if names_brief(run.get("display_title"), brief_id) and isinstance(run.get("id"), int):
            return int(run["id"]), False
        older = older or _created(run) < since - CLOCK_SKEW_S  # newest first: the rest are older still
    return None, len(runs) == PER_PAGE and not older


def poll_interval_s(window_s: float) -> float:
    """How long to wait between searches: about a dozen within the window, between 0.5 and 5 s apart."""
    return max(0.5, min(5.0, window_s / 12))


def _created(run: Mapping[str, Any]) -> float:
    try:
        return datetime.fromisoformat(str(run.get("created_at")).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return float("inf")  # unreadable: never the reason to stop looking
