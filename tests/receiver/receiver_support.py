"""Helpers for the receiver's tests: a real `deployer serve` process and briefs that pass every rule.

A module of its own (not conftest) so test files can import it by a name no other test directory uses."""

from __future__ import annotations

import base64
import os
import socket
import sqlite3
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import requests

from sandbox.procs import Service, deployer_argv, start_service

SECRET = "receiver-test-secret-7Qx"
CSV = b"region,sales\nNorth,36.75\nSouth,47.80\n"


def closed_port_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens: dispatches fail fast with connection refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def make_brief(**overrides: Any) -> dict[str, Any]:
    """A brief that passes every rule; a fresh nonce each time, so briefs are distinct unless told otherwise."""
    brief: dict[str, Any] = {
        "email": "student@example.com",
        "secret": SECRET,
        "task": "sum-of-sales-1",
        "round": 1,
        "nonce": uuid.uuid4().hex,
        "brief": "Publish a page that sums the sales column of data.csv.",
        "checks": ["page has a title", {"js": "document.title.length > 0"}],
        "evaluation_url": "http://127.0.0.1:9/notify",
        "attachments": [{"name": "data.csv", "url": "data:text/csv;base64," + base64.b64encode(CSV).decode()}],
    }
    brief.update(overrides)
    return brief


def receiver_env(data_dir: Path, api_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_TOKEN", "GITHUB_PAT", "PUBLIC_URL")}
    env.update(
        SHARED_SECRET=SECRET, GITHUB_TOKEN="sandbox-token", DEPLOYER_REPO="sandbox/deploy-target",
        GITHUB_API_URL=api_url, DEPLOYER_DATA_DIR=str(data_dir), HOST="127.0.0.1", PORT="0",
        RATE_LIMIT_PER_MINUTE="0",
    )
    env.update(extra)
    return env


def start_receiver(log_dir: Path, data_dir: Path, api_url: str, name: str = "receiver", **extra: str) -> Service:
    return start_service(name, deployer_argv("serve"), log_dir=log_dir, env=receiver_env(data_dir, api_url, **extra))


def post(url: str, body: Any, **kwargs: Any) -> requests.Response:
    return requests.post(f"{url}/api-endpoint", json=body, timeout=30, **kwargs)


def status_of(url: str, brief_id: str) -> dict[str, Any]:
    r = requests.get(f"{url}/briefs/{brief_id}", headers={"Authorization": f"Bearer {SECRET}"}, timeout=10)
    r.raise_for_status()
    return r.json()


def rows(data_dir: Path) -> list[dict[str, Any]]:
    """The outbox as it is on disk, read by a separate SQLite connection (what a restart would see)."""
    path = data_dir / "outbox.sqlite3"
    if not path.exists():
        return []
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM briefs ORDER BY seq")]


T = TypeVar("T")


def wait_for(probe: Callable[[], T | None], timeout: float = 60.0, what: str = "condition") -> T:
    """Poll `probe` until it returns something truthy; fail after `timeout` (a deadline, not a speed claim)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
