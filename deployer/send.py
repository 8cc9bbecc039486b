"""`deployer send FILE.json`: POST a brief to a receiver and show its answer.

The secret comes from the file, or from SHARED_SECRET when the file has none (so a shared sample file never needs
to hold a real secret). The receiver's own error (status, code, detail) is shown as it is: it is already precise.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import requests


class SendError(RuntimeError):
    pass


def load_brief(path: Path, secret: str | None = None) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SendError(f"cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise SendError(f"{path} is not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(data, dict):
        raise SendError(f"{path} holds a JSON {type(data).__name__}, not a brief object")
    if not data.get("secret") and secret:
        data["secret"] = secret
    return data


def call(method: str, url: str, timeout: float = 30, **kwargs: Any) -> tuple[int, Any]:
    """(status, JSON answer) of one request to a receiver; SendError when it cannot be reached or answers no JSON."""
    try:
        response = requests.request(method, url, timeout=timeout, **kwargs)
    except requests.ConnectionError:
        raise SendError(f"no receiver at {url}: is `deployer serve` running?") from None
    except requests.RequestException as exc:
        raise SendError(f"{method} {url} failed: {exc}") from None
    try:
        return response.status_code, response.json()
    except ValueError:
        raise SendError(f"{url} answered HTTP {response.status_code} without JSON: {response.text[:200]}") from None


def post_brief(url: str, brief: dict[str, Any], timeout: float = 30) -> tuple[int, dict[str, Any]]:
    """(status, JSON answer); SendError when the receiver cannot be reached or does not answer JSON."""
    status, answer = call("POST", url, timeout, json=brief)
    return status, answer if isinstance(answer, dict) else {"answer": answer}


def describe_error(status: int, answer: dict[str, Any]) -> str:
    detail = answer.get("detail")
    if isinstance(detail, list):
        detail = "; ".join(f"{d.get('field')}: {d.get('message')}" if isinstance(d, dict) else str(d) for d in detail)
    return f"receiver refused the brief: HTTP {status} {answer.get('error', '')}: {detail}"


def main(args: argparse.Namespace) -> int:
    try:
        brief = load_brief(Path(args.file), os.environ.get("SHARED_SECRET"))
        status, answer = post_brief(args.url, brief)
    except SendError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if status != 200:
        print(f"error: {describe_error(status, answer)}", file=sys.stderr)
        return 1
    print(json.dumps(answer))
    return 0
