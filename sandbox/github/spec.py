"""Check the emulator's answers against GitHub's own OpenAPI description (openapi-subset.json, MIT, see NOTICE).

The server checks every answer to a GitHub path (on a worker thread, `BackgroundChecker`) and lists mismatches at
`GET /_sandbox/spec-violations`, so every test that talks to the emulator also checks its faithfulness.
Rules: the status must be one the operation lists, or one GitHub may send on any call (`GENERIC_STATUSES`:
unparsable JSON, authentication, rate limits, not found, server errors) whose body must then be a `basic-error`;
the body must match the response schema of its media type (`$ref`s resolved, OpenAPI 3.0 `nullable` honoured);
the headers the response declares must be present (`Link` only when paginating). Compiled validators are cached,
and the validator library is imported on a background thread so the server is ready before it is loaded.
"""

from __future__ import annotations

import json
import queue
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openapi_schema_validator import OAS30Validator

SPEC_PATH = Path(__file__).with_name("openapi-subset.json")
GENERIC_STATUSES = frozenset({400, 401, 403, 404, 429, 500, 502, 503})
OPTIONAL_HEADERS = frozenset({"link"})
CUSTOM_MEDIA = "application/vnd.github."  # e.g. `.raw` for file contents, chosen with Accept
# Answers api.github.com gives that its description omits; checked as error bodies like the generic ones.
UNDOCUMENTED = frozenset({
    # "No ref found for: X", "Workflow does not have 'workflow_dispatch' trigger", too many inputs.
    ("actions/create-workflow-dispatch", 422),
    # A state outside the enum, a SHA that is no commit, "more than 1000 statuses will result in a validation
    # error" (the operation's own description), while its responses list only the 201.
    ("repos/create-commit-status", 422),
})


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    operation_id: str
    docs_url: str
    responses: dict[str, Any]

    @property
    def route(self) -> str:
        return f"{self.method} {self.template}"


class Spec:
    def __init__(self, path: Path = SPEC_PATH):
        self.doc: dict[str, Any] = json.loads(path.read_text())
        self.operations: dict[tuple[str, str], Operation] = {}
        for template, item in self.doc["paths"].items():
            for method, op in item.items():
                if method == "parameters":
                    continue
                responses = {code: self.resolve(r) for code, r in op["responses"].items()}
                self.operations[(method.upper(), template)] = Operation(
                    method.upper(), template, op["operationId"], op.get("externalDocs", {}).get("url", ""), responses,
                )
        self._validators: dict[tuple[str, str, str], OAS30Validator | None] = {}
        self._loaded = threading.Event()
        threading.Thread(target=self._load, name="spec-load", daemon=True).start()

    def _load(self) -> None:
        from jsonschema.exceptions import best_match
        from openapi_schema_validator import OAS30Validator

        self._compile = OAS30Validator
        self._best_match = best_match
        self._error_validator = OAS30Validator(self.resolve({"$ref": "#/components/schemas/basic-error"}))
        self._loaded.set()

    def operation(self, method: str, template: str | None) -> Operation | None:
        return self.operations.get((method, template)) if template else None

    def resolve(self, node: Any) -> Any:
        """Inline every `$ref` (the subset has no cycles)."""
        if isinstance(node, dict):
            if "$ref" in node:
                return self.resolve(self._pointer(node["$ref"]))
            # `discriminator` only points at the `oneOf` branches, which validate on their own.
            out = {k: self.resolve(v) for k, v in node.items() if k != "discriminator"}
            if "oneOf" in out:
                # GitHub's branches overlap (a 422 body is both a `validation-error` and a
                # `repository-rule-violation-error`), so real answers satisfy several: read `oneOf` as `anyOf`.
                out["anyOf"] = out.pop("oneOf")
            if out.get("nullable") and "enum" in out and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]  # `nullable` with an `enum` still admits null
            if out.get("nullable") and "type" not in out:
                # OpenAPI 3.0 `nullable` next to `oneOf`/`allOf` means "or null"; JSON Schema needs it spelled out.
                out = {"anyOf": [{k: v for k, v in out.items() if k != "nullable"}, {"enum": [None]}]}
            return out
        if isinstance(node, list):
            return [self.resolve(v) for v in node]
        return node

    @cache  # noqa: B019 - one Spec per process; the cache lives as long as it does
    def _pointer(self, ref: str) -> Any:
        target: Any = self.doc
        for part in ref.removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        return target

    def _validator(self, op: Operation, status: str, media: str) -> OAS30Validator | None:
        key = (op.operation_id, status, media)
        if key not in self._validators:
            content = op.responses[status].get("content") or {}
            schema = (content.get(media) or {}).get("schema")
            self._validators[key] = self._compile(schema) if schema is not None else None
        return self._validators[key]

    def check(self, op: Operation, status: int, headers: dict[str, str], body: bytes) -> list[str]:
        """Problems with one answer, as readable sentences; empty when it matches the description."""
        self._loaded.wait()
        code = str(status)
        lower = {k.lower() for k in headers}
        media = headers.get("Content-Type", "").split(";", 1)[0].strip()
        if code not in op.responses:
            if status not in GENERIC_STATUSES and (op.operation_id, status) not in UNDOCUMENTED:
                return [f"status {status} is not listed for {op.operation_id}"]
            return self._check_json(self._error_validator, body, f"{status} body")
        problems: list[str] = []
        response = op.responses[code]
        for name in response.get("headers") or {}:
            if name.lower() not in lower and name.lower() not in OPTIONAL_HEADERS:
                problems.append(f"header {name} missing")
        content = response.get("content") or {}
        if not content:
            if body:
                problems.append(f"status {status} must have no body")
            return problems
        if media not in content:
            if media.startswith(CUSTOM_MEDIA):
                return problems  # a custom media type the client asked for, outside the description
            return [*problems, f"media type {media!r} not among {sorted(content)}"]
        validator = self._validator(op, code, media)
        if validator is not None and media.endswith("json"):
            problems += self._check_json(validator, body, f"{status} body")
        return problems

    def _check_json(self, validator: OAS30Validator, body: bytes, what: str) -> list[str]:
        try:
            data = json.loads(body)
        except ValueError:
            return [f"{what} is not JSON"]
        error = self._best_match(validator.iter_errors(data))
        if error is None:
            return []
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        return [f"{what} at {where}: {error.message[:300]}"]


class BackgroundChecker:
    """Runs `Spec.check` on a worker thread so answers never wait for validation; `drain` waits for the backlog
    (the `/_sandbox/spec-violations` route drains before it lists)."""

    def __init__(self, spec: Spec):
        self.spec = spec
        self.violations: list[dict[str, Any]] = []
        self._queue: queue.Queue[tuple[Operation, int, dict[str, str], bytes, str]] = queue.Queue()
        threading.Thread(target=self._run, name="spec-check", daemon=True).start()

    def submit(self, op: Operation, status: int, headers: dict[str, str], body: bytes, path: str) -> None:
        self._queue.put((op, status, headers, body, path))

    def drain(self) -> None:
        self._queue.join()

    def _run(self) -> None:
        while True:
            op, status, headers, body, path = self._queue.get()
            try:
                problems = self.spec.check(op, status, headers, body)
            except Exception as exc:  # a checker bug must show up as a violation, not kill the thread
                problems = [f"checker failed: {exc!r}"]
            if problems:
                self.violations.append({"route": op.route, "path": path, "status": status, "problems": problems})
            self._queue.task_done()
