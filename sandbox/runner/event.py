"""Event payloads as GitHub writes them to GITHUB_EVENT_PATH, and the dispatch records of the emulator as events.

Shapes: README "Events: repository_dispatch and workflow_dispatch" (octokit/webhooks examples): repository_dispatch
`{action, branch, client_payload, repository, sender}`; workflow_dispatch `{inputs, ref, repository, sender, workflow}`.
Limits are GitHub's (the REST call would answer 422); breaking one is an `EventError`.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sandbox.runner.expressions import parse_number
from sandbox.runner.workflow import Workflow

MAX_EVENT_TYPE = 100
MAX_TOP_LEVEL = 10
MAX_PAYLOAD_CHARS = 65_535


class EventError(ValueError):
    """An event GitHub would refuse to create."""


def _stable_id(text: str) -> int:
    return zlib.crc32(text.encode()) or 1


def user(login: str) -> dict[str, Any]:
    return {"login": login, "id": _stable_id(f"user:{login}"), "type": "User"}


@dataclass(frozen=True)
class Repository:
    """The repository the run belongs to; URLs follow the (emulated) GitHub the run talks to."""

    full_name: str
    default_branch: str = "main"
    api_url: str = "https://api.github.com"
    server_url: str = "https://github.com"

    def __post_init__(self) -> None:
        owner, _, name = self.full_name.partition("/")
        if not owner or not name or "/" in name:
            raise EventError(f"repository must be 'owner/name', got {self.full_name!r}")

    @property
    def owner(self) -> str:
        return self.full_name.split("/")[0]

    @property
    def name(self) -> str:
        return self.full_name.split("/")[1]

    def payload(self) -> dict[str, Any]:
        html = f"{self.server_url}/{self.full_name}"
        return {
            "id": _stable_id(f"repo:{self.full_name}"),
            "name": self.name,
            "full_name": self.full_name,
            "private": False,
            "owner": user(self.owner),
            "html_url": html,
            "url": f"{self.api_url}/repos/{self.full_name}",
            "clone_url": f"{html}.git",
            "default_branch": self.default_branch,
        }


def repository_dispatch(
    repo: Repository, event_type: str, client_payload: Any, sender: str, branch: str | None = None
) -> dict[str, Any]:
    if not isinstance(event_type, str) or not event_type:
        raise EventError("repository_dispatch: event_type must be a non-empty string")
    if len(event_type) > MAX_EVENT_TYPE:
        raise EventError(f"repository_dispatch: event_type is limited to {MAX_EVENT_TYPE} characters")
    client_payload = {} if client_payload is None else client_payload
    if not isinstance(client_payload, Mapping):
        raise EventError("repository_dispatch: client_payload must be an object")
    if len(client_payload) > MAX_TOP_LEVEL:
        raise EventError(f"repository_dispatch: client_payload has more than {MAX_TOP_LEVEL} top-level properties")
    if len(json.dumps(client_payload)) > MAX_PAYLOAD_CHARS:
        raise EventError(f"repository_dispatch: client_payload is over {MAX_PAYLOAD_CHARS} characters")
    return {
        "action": event_type,
        "branch": branch or repo.default_branch,
        "client_payload": dict(client_payload),
        "repository": repo.payload(),
        "sender": user(sender),
    }


def push(repo: Repository, ref: str, before: str, after: str, sender: str, message: str = "") -> dict[str, Any]:
    """The `push` payload (webhook shape) for a ref moving from `before` to `after` (40 zeros: created)."""
    if not ref.startswith("refs/"):
        raise EventError(f"push: ref must be a full ref name, got {ref!r}")
    zero = "0" * 40
    html = f"{repo.server_url}/{repo.full_name}"
    head = None if after == zero else {
        "id": after, "tree_id": "", "distinct": True, "message": message, "url": f"{html}/commit/{after}",
        "author": {"name": sender, "email": "", "username": sender},
        "committer": {"name": sender, "email": "", "username": sender},
    }
    return {
        "ref": ref, "before": before, "after": after, "created": before == zero, "deleted": after == zero,
        "forced": False, "base_ref": None, "compare": f"{html}/compare/{before[:12]}...{after[:12]}",
        "commits": [head] if head else [], "head_commit": head, "pusher": {"name": sender, "email": ""},
        "repository": repo.payload(), "sender": user(sender),
    }


def _input_string(name: str, spec: Mapping[str, Any], value: Any) -> str:
    """An input value as GitHub stores it in the payload (always a string), checked against its `type`."""
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    kind = spec.get("type", "string")
    if kind == "boolean" and text not in ("true", "false"):
        raise EventError(f"workflow_dispatch: input '{name}' must be true or false, got {text!r}")
    if kind == "number" and math.isnan(parse_number(text)):
        raise EventError(f"workflow_dispatch: input '{name}' must be a number, got {text!r}")
    if kind == "choice" and text not in [str(o) for o in spec.get("options") or []]:
        raise EventError(f"workflow_dispatch: input '{name}' must be one of {spec.get('options')}, got {text!r}")
    return text


def dispatch_inputs(workflow: Workflow, given: Mapping[str, Any] | None) -> dict[str, str]:
    """Inputs of a workflow_dispatch, defaults filled in, as GitHub validates them (unknown or missing -> error)."""
    spec = workflow.dispatch_inputs()
    given = dict(given or {})
    unexpected = sorted(set(given) - set(spec))
    if unexpected:
        raise EventError(f"workflow_dispatch: unexpected inputs provided: {unexpected}")
    result: dict[str, str] = {}
    for name, raw_spec in spec.items():
        item = dict(raw_spec or {})
        if name in given:
            result[name] = _input_string(name, item, given[name])
        elif item.get("required") and item.get("default") is None:
            raise EventError(f"workflow_dispatch: required input '{name}' not provided")
        elif item.get("default") is not None:
            result[name] = _input_string(name, item, item["default"])
        elif item.get("type") == "boolean":
            result[name] = "false"
        else:
            result[name] = ""
    return result


def workflow_dispatch(
    repo: Repository, workflow: Workflow, ref: str | None, inputs: Mapping[str, Any] | None, sender: str
) -> dict[str, Any]:
    ref = ref or repo.default_branch
    if not ref.startswith("refs/"):
        ref = f"refs/heads/{ref}"
    return {
        "inputs": dispatch_inputs(workflow, inputs),
        "ref": ref,
        "repository": repo.payload(),
        "sender": user(sender),
        "workflow": workflow.path,
    }


def inputs_context(workflow: Workflow, event_name: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The `inputs` context: like `github.event.inputs`, but booleans stay booleans and numbers numbers."""
    if event_name != "workflow_dispatch":
        return {}
    spec = workflow.dispatch_inputs()
    result: dict[str, Any] = {}
    for name, value in dict(payload.get("inputs") or {}).items():
        kind = dict(spec.get(name) or {}).get("type")
        if kind == "boolean":
            result[name] = value == "true" if isinstance(value, str) else bool(value)
        elif kind == "number":
            result[name] = parse_number(str(value))
        else:
            result[name] = value
    return result


def event_ref(event_name: str, payload: Mapping[str, Any]) -> str:
    """GITHUB_REF for the event: the default branch for repository_dispatch, the dispatched ref otherwise."""
    default_branch = dict(payload.get("repository") or {}).get("default_branch") or "main"
    if event_name == "repository_dispatch":
        return f"refs/heads/{payload.get('branch') or default_branch}"
    ref = payload.get("ref")
    if isinstance(ref, str) and ref:
        return ref if ref.startswith("refs/") else f"refs/heads/{ref}"
    return f"refs/heads/{default_branch}"


def event_from_dispatch(
    record: Mapping[str, Any], repo: Repository, workflow: Workflow
) -> tuple[str, dict[str, Any]]:
    """A dispatch recorded by the emulator (`GET /_sandbox/dispatches`) -> (event name, payload) for `workflow`."""
    sender = record.get("sender") or repo.owner
    login = sender.get("login", repo.owner) if isinstance(sender, Mapping) else str(sender)
    kind = record.get("kind")
    if kind == "repository_dispatch":
        return kind, repository_dispatch(repo, record.get("event_type", ""), record.get("client_payload"), login)
    if kind == "workflow_dispatch":
        return kind, workflow_dispatch(repo, workflow, record.get("ref"), record.get("inputs"), login)
    raise EventError(f"unknown dispatch kind {kind!r}")
