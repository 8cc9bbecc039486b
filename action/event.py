"""Where a run's brief comes from: the `brief` input, a workflow_dispatch input, or a repository_dispatch payload.

The receiver's payload (deployer.dispatch_payload) nests the brief or, when it is too large for a payload, sends a
reference (`brief_url` + `brief_token`) that we resolve with that one-brief token. A brief pasted by hand may still
carry its `secret`: it is dropped here, before anything can log or commit it. A pasted brief meets the receiver's
limits (the BRIEF_MAX_* names, from the environment); a dispatched one already met the receiver's own.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import requests

from deployer.brief import Brief, BriefError, FieldError, parse_brief
from deployer.dispatch_payload import Inline, Reference, read_payload
from deployer.isotime import parse as parse_instant
from deployer.limits import BriefLimits, LimitsError


@dataclass(frozen=True)
class BriefSource:
    brief: Brief
    accepted_at: datetime | None
    origin: str
    receiver_id: str | None = None
    dropped_secret: str | None = field(default=None, repr=False)


class EventError(RuntimeError):
    pass


def load_json_text(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BriefError([FieldError("(brief)", f"{what} is not valid JSON: {exc.msg} at line {exc.lineno}")]) from None


def parse_accepted_at(value: object) -> datetime | None:
    return parse_instant(value)


def brief_from_data(data: object, limits: BriefLimits | None) -> tuple[Brief, str | None]:
    """The brief without its secret, and the secret (for masking) when one was pasted in."""
    brief = parse_brief(data, require_secret=False, limits=limits)
    return replace(brief, secret=None), brief.secret


def pasted_limits(env: Mapping[str, str]) -> BriefLimits:
    try:
        return BriefLimits.from_env(env)
    except LimitsError as exc:
        raise EventError(str(exc)) from None


def fetch_reference(url: str, token: str, session: requests.Session | None = None) -> object:
    """GET a brief the receiver kept back because it was too large for a dispatch payload."""
    http = session or requests.Session()
    try:
        response = http.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    except requests.RequestException as exc:
        raise EventError(f"could not fetch the brief from {url}: {exc}") from None
    if response.status_code != 200:
        raise EventError(f"could not fetch the brief from {url}: HTTP {response.status_code} {response.text[:200]}")
    try:
        return response.json()
    except ValueError:
        raise EventError(f"the brief at {url} is not JSON") from None


def read_brief(
    event_name: str | None, event: dict[str, Any] | None, brief_input: str | None,
    session: requests.Session | None = None, env: Mapping[str, str] = os.environ,
) -> BriefSource:
    """The brief of this run; `brief_input` (the action's `brief` input) wins when it is not empty."""
    if brief_input and brief_input.strip():
        brief, secret = brief_from_data(load_json_text(brief_input, "the brief input"), pasted_limits(env))
        return BriefSource(brief, None, "brief input", dropped_secret=secret)
    event = event or {}
    if event_name == "workflow_dispatch":
        text = (event.get("inputs") or {}).get("brief")
        if not isinstance(text, str) or not text.strip():
            raise EventError("workflow_dispatch without a 'brief' input: paste the brief JSON into it")
        brief, secret = brief_from_data(load_json_text(text, "the 'brief' input"), pasted_limits(env))
        return BriefSource(brief, None, "workflow_dispatch", dropped_secret=secret)
    if event_name == "repository_dispatch":
        payload = event.get("client_payload")
        if not isinstance(payload, dict):
            raise EventError("repository_dispatch without a client_payload object")
        shape = read_payload(payload)
        if isinstance(shape, Inline):
            return BriefSource(brief_from_data(shape.brief, None)[0], parse_accepted_at(shape.accepted_at),
                               "repository_dispatch", shape.id)
        if isinstance(shape, Reference):
            data = fetch_reference(shape.brief_url, shape.brief_token, session)
            return BriefSource(brief_from_data(data, None)[0], parse_accepted_at(shape.accepted_at),
                               "repository_dispatch (by reference)", shape.id)
        # A hand-made dispatch may carry the brief's fields directly (a brief has fewer than 10 of them).
        brief, secret = brief_from_data(payload, pasted_limits(env))
        rid = payload.get("id") if isinstance(payload.get("id"), str) else None
        return BriefSource(brief, parse_accepted_at(payload.get("accepted_at")), "repository_dispatch", rid,
                           dropped_secret=secret)
    raise EventError(
        f"no brief: event {event_name or '(none)'} is neither repository_dispatch nor workflow_dispatch, "
        "and the 'brief' input is empty"
    )
