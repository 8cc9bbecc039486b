"""The script queue: responses a test (or `--script DIR`) lines up for the next chat completions.

Two shapes of `R` (ARCHITECTURE.md):
- a success `{"content", "finish_reason", "native_finish_reason", "model", "usage", "error", "delay"}`;
  `content` null means "let the built-in generator write it"; `error` makes a 200 whose choice ends with
  `finish_reason: "error"` (mid-stream error chunk when streaming), after the partial `content`;
- a fault `{"status", "headers", "body", "message", "metadata", "delay", "model"}`: any status; `body` null gives
  OpenRouter's error body for it (with `message`/`metadata` if given) and its usual headers (Retry-After,
  X-RateLimit-*), a dict or a raw string is sent as is (so `{"status": 200, "body": {"error": ...}}` is a 200 with
  a top-level error and no choices).
`model` in either shape restricts an entry to attempts on that model id; unrestricted entries serve any model.
`"plan": true` in either shape reserves an entry for the action's planning request (`<plan-round>`), which takes no
other entry: so a test scripts the generation without scripting the plan, and the built-in model plans.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

FINISH_REASONS = ("stop", "length", "content_filter", "tool_calls", "error")


class ScriptError(ValueError):
    pass


@dataclass(frozen=True)
class Success:
    content: str | None = None
    finish_reason: str = "stop"
    native_finish_reason: str | None = None
    model: str | None = None
    usage: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    delay: float = 0.0
    plan: bool = False


@dataclass(frozen=True)
class Fault:
    status: int
    headers: dict[str, str] | None = None
    body: dict[str, Any] | list[Any] | str | None = None
    message: str | None = None
    metadata: dict[str, Any] | None = None
    model: str | None = None
    delay: float = 0.0
    plan: bool = False


Response = Success | Fault
SUCCESS_KEYS = {"content", "finish_reason", "native_finish_reason", "model", "usage", "error", "delay", "plan"}
FAULT_KEYS = {"status", "headers", "body", "message", "metadata", "model", "delay", "plan"}


def parse_response(raw: object, where: str = "response") -> Response:
    if not isinstance(raw, dict):
        raise ScriptError(f"{where} must be an object")
    keys = FAULT_KEYS if "status" in raw else SUCCESS_KEYS
    unknown = sorted(set(raw) - keys)
    if unknown:
        raise ScriptError(f"{where} has unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(keys))}")
    delay = raw.get("delay", 0) or 0
    if isinstance(delay, bool) or not isinstance(delay, (int, float)) or delay < 0:
        raise ScriptError(f"{where}.delay must be a number of seconds >= 0")
    model = raw.get("model")
    if model is not None and not isinstance(model, str):
        raise ScriptError(f"{where}.model must be a model id string or null")
    if not isinstance(raw.get("plan", False), bool):
        raise ScriptError(f"{where}.plan must be true or false")
    if "status" in raw:
        return replace(_fault(raw, where, float(delay), model), plan=raw.get("plan", False))
    return replace(_success(raw, where, float(delay), model), plan=raw.get("plan", False))


def _fault(raw: dict[str, Any], where: str, delay: float, model: str | None) -> Fault:
    status = raw["status"]
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise ScriptError(f"{where}.status must be an HTTP status code (100-599)")
    if status == 200 and raw.get("body") is None:
        raise ScriptError(f"{where}: a status 200 fault needs a body (a success has no status)")
    headers = raw.get("headers")
    if headers is not None and (
        not isinstance(headers, dict) or not all(isinstance(v, (str, int, float)) for v in headers.values())
    ):
        raise ScriptError(f"{where}.headers must be an object of header values")
    body = raw.get("body")
    if body is not None and not isinstance(body, (dict, list, str)):
        raise ScriptError(f"{where}.body must be an object, an array, a string or null")
    message, metadata = raw.get("message"), raw.get("metadata")
    if message is not None and not isinstance(message, str):
        raise ScriptError(f"{where}.message must be a string")
    if metadata is not None and not isinstance(metadata, dict):
        raise ScriptError(f"{where}.metadata must be an object")
    return Fault(
        status, {str(k): str(v) for k, v in headers.items()} if headers else None, body, message, metadata,
        model, delay,
    )


def _success(raw: dict[str, Any], where: str, delay: float, model: str | None) -> Success:
    content = raw.get("content")
    if content is not None and not isinstance(content, str):
        raise ScriptError(f"{where}.content must be a string or null")
    error = raw.get("error")
    if error is not None and not (isinstance(error, dict) and isinstance(error.get("code"), int)):
        raise ScriptError(f"{where}.error must be an object like {{\"code\": 502, \"message\": \"...\"}}")
    finish = raw.get("finish_reason") or ("error" if error else "stop")
    if finish not in FINISH_REASONS:
        raise ScriptError(f"{where}.finish_reason must be one of {', '.join(FINISH_REASONS)}")
    native = raw.get("native_finish_reason")
    if native is not None and not isinstance(native, str):
        raise ScriptError(f"{where}.native_finish_reason must be a string")
    usage = raw.get("usage")
    if usage is not None and not isinstance(usage, dict):
        raise ScriptError(f"{where}.usage must be an object or null")
    return Success(content, finish, native, model, usage, error, delay)


def parse_responses(raw: object) -> list[Response]:
    """The body of `POST /_sandbox/script`: `{"responses": [R, ...]}`."""
    if not isinstance(raw, dict) or not isinstance(raw.get("responses"), list):
        raise ScriptError('body must be {"responses": [R, ...]}')
    return [parse_response(r, f"responses[{i}]") for i, r in enumerate(raw["responses"])]


def load_dir(directory: Path) -> list[Response]:
    """`--script DIR`: files in name order; `*.json` holds one R, a list of them or `{"responses": [...]}`,
    any other file is the content of one success."""
    if not directory.is_dir():
        raise ScriptError(f"--script {directory}: not a directory")
    result: list[Response] = []
    for path in sorted(p for p in directory.iterdir() if p.is_file() and not p.name.startswith(".")):
        text = path.read_text(encoding="utf-8")
        if path.suffix != ".json":
            result.append(Success(content=text))
            continue
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ScriptError(f"{path}: not valid JSON ({exc})") from None
        if isinstance(data, dict) and "responses" in data:
            entries: Iterable[object] = data["responses"] if isinstance(data["responses"], list) else [None]
        else:
            entries = data if isinstance(data, list) else [data]
        result.extend(parse_response(r, f"{path.name}[{i}]") for i, r in enumerate(entries))
    return result


class ScriptQueue:
    """Entries are taken in order; an entry pinned to a model waits for an attempt on that model."""

    def __init__(self, responses: Iterable[Response] = ()):
        self._items: list[Response] = list(responses)

    def extend(self, responses: Iterable[Response]) -> None:
        self._items.extend(responses)

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)

    def take(self, model_id: str, *, plan: bool = False) -> Response | None:
        """The first entry for this model and this kind of request (a planning request or any other)."""
        for i, item in enumerate(self._items):
            if (item.model is None or item.model == model_id) and item.plan == plan:
                return self._items.pop(i)
        return None
