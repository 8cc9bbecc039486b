"""Injected failures (`POST /_sandbox/faults`): the next N calls matching a route answer a chosen status.

A route is `METHOD /template` as in the OpenAPI description (`POST /repos/{owner}/{repo}/git/trees`); a `path`
is one concrete path, optionally prefixed by a method. Without a method either one matches every method.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class FaultError(ValueError):
    pass


@dataclass
class Fault:
    method: str | None
    route: str | None  # OpenAPI template
    path: str | None  # one concrete path
    status: int | None
    count: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    delay: float = 0.0

    def matches(self, method: str, template: str | None, path: str) -> bool:
        if self.method is not None and self.method != method:
            return False
        return self.route == template if self.route is not None else self.path == path

    def describe(self) -> dict[str, Any]:
        where = {"route": self.route} if self.route is not None else {"path": self.path}
        spec = f"{self.method} " if self.method else ""
        key = next(iter(where))
        return {key: spec + str(where[key]), "status": self.status, "count": self.count,
                "headers": self.headers, "body": self.body, "delay": self.delay}


def _split(value: object, name: str) -> tuple[str | None, str]:
    if not isinstance(value, str) or not value.strip():
        raise FaultError(f"{name} must be a non-empty string like 'POST /repos/{{owner}}/{{repo}}/git/trees'")
    head, _, tail = value.strip().partition(" ")
    if tail:
        return head.upper(), tail.strip()
    return None, head


def parse_fault(spec: object) -> Fault:
    """Validate a `/_sandbox/faults` request body; every mistake is a FaultError naming the field."""
    if not isinstance(spec, dict):
        raise FaultError("body must be a JSON object")
    if ("route" in spec) == ("path" in spec):
        raise FaultError("give exactly one of 'route' or 'path'")
    method, target = _split(spec.get("route", spec.get("path")), "route" if "route" in spec else "path")
    if not target.startswith("/"):
        raise FaultError("route/path must start with '/'")
    status = spec.get("status")
    if status is not None and (not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599):
        raise FaultError("status must be an HTTP status code (100-599)")
    count = spec.get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise FaultError("count must be a positive integer")
    delay = spec.get("delay", 0) or 0
    if not isinstance(delay, int | float) or isinstance(delay, bool) or not 0 <= delay <= 300:
        raise FaultError("delay must be a number of seconds between 0 and 300")
    if status is None and not delay:
        raise FaultError("give a status, a delay, or both")
    headers = spec.get("headers") or {}
    if not isinstance(headers, dict) or not all(isinstance(k, str) and isinstance(v, str | int)
                                                for k, v in headers.items()):
        raise FaultError("headers must be an object of strings")
    return Fault(
        method=method, route=target if "route" in spec else None, path=target if "path" in spec else None,
        status=status, count=count, headers={k: str(v) for k, v in headers.items()}, body=spec.get("body"),
        delay=float(delay),
    )


class Faults:
    def __init__(self) -> None:
        self.armed: list[Fault] = []

    def arm(self, fault: Fault) -> None:
        self.armed.append(fault)

    def take(self, method: str, template: str | None, path: str) -> Fault | None:
        """The first armed fault for this call, consumed once."""
        for fault in self.armed:
            if fault.matches(method, template, path):
                fault.count -= 1
                if fault.count <= 0:
                    self.armed.remove(fault)
                return fault
        return None

    def clear(self) -> None:
        self.armed.clear()
