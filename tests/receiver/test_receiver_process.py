"""The receiver as a process: start-up checks, 429, 503 when it cannot persist, SIGTERM with a request in flight."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from receiver_support import closed_port_url, make_brief, post, receiver_env, rows, start_receiver

from deployer.cli import SERVE_ENV
from receiver.config import DEFAULTS
from sandbox.procs import deployer_argv
from tests.faults.table import Ledger


def _serve(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(deployer_argv("serve"), env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("name", ["SHARED_SECRET", "GITHUB_TOKEN", "DEPLOYER_REPO"])
def test_missing_required_setting_stops_start_up_with_one_line(tmp_path: Path, name: str) -> None:
    env = receiver_env(tmp_path / "data", closed_port_url())
    env.pop(name)
    done = _serve(env)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and name in lines[0] and "missing" in lines[0], done.stderr
    assert not done.stdout
    assert not (tmp_path / "data").exists()


def test_github_pat_is_an_alias_of_github_token(tmp_path: Path) -> None:
    env = receiver_env(tmp_path / "data", closed_port_url(), DEPLOYER_REPO="bad repo name")
    env.pop("GITHUB_TOKEN")
    env["GITHUB_PAT"] = "pat"
    done = _serve(env)  # gets past the token check, then stops on the next wrong setting
    assert done.returncode != 0 and "GITHUB_TOKEN" not in done.stderr and "DEPLOYER_REPO" in done.stderr


@pytest.mark.parametrize("name, value", [("DEPLOYER_REPO", "no-slash"), ("PORT", "eighty"), ("MAX_BODY_MB", "0"),
                                         ("DISPATCH_PER_MINUTE", "-1"), ("GITHUB_API_URL", "api.github.com")])
def test_wrong_setting_stops_start_up_naming_it(tmp_path: Path, name: str, value: str) -> None:
    done = _serve(receiver_env(tmp_path / "data", closed_port_url(), **{name: value}))
    assert done.returncode != 0
    assert len(done.stderr.strip().splitlines()) == 1 and name in done.stderr


def test_help_lists_every_setting_with_its_default() -> None:
    done = subprocess.run([sys.executable, "-m", "deployer", "serve", "--help"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0
    lines = {line.split()[0]: line for line in SERVE_ENV.splitlines()[1:] if line.strip()}
    for name, default in DEFAULTS.items():
        assert name in lines and name in done.stdout, name
        assert ("required" in lines[name]) if default is None else (f"default {default}" in lines[name]), name


@pytest.mark.parametrize("host, public_url", [
    ("0.0.0.0", None), ("0.0.0.0", "http://127.0.0.1:8000"), ("0.0.0.0", "http://localhost:8000/"),
    ("::", "http://[::1]:8000"), ("0.0.0.0", "http://0.0.0.0:8000"), ("192.0.2.10", "http://app.localhost"),
])
def test_a_public_url_runners_cannot_reach_stops_a_receiver_listening_beyond_loopback(
        tmp_path: Path, host: str, public_url: str | None) -> None:
    env = receiver_env(tmp_path / "data", closed_port_url(), HOST=host)
    if public_url is not None:
        env["PUBLIC_URL"] = public_url
    done = _serve(env)
    assert done.returncode == 2 and not done.stdout
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("deployer serve: PUBLIC_URL ") and "64 KB" in line and "HOST=127.0.0.1" in line
    assert (public_url.rstrip("/") if public_url else "(the default, http://HOST:PORT)") in line
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("host, public_url", [
    ("127.0.0.1", None),  # local use: the sandbox's runners are on this machine
    ("127.0.0.1", "http://localhost:9"),
    ("0.0.0.0", "https://receiver.example.org"),
])
def test_a_reachable_public_url_or_a_loopback_only_receiver_starts(services: Any, tmp_path: Path, host: str,
                                                                   public_url: str | None) -> None:
    extra = {"HOST": host, **({"PUBLIC_URL": public_url} if public_url else {})}
    svc = services.start("receiver", "serve", env=receiver_env(tmp_path / "data", closed_port_url(), **extra))
    port = svc.url.rsplit(":", 1)[1]
    health = requests.get(f"http://127.0.0.1:{port}/health", timeout=10)
    assert health.status_code == 200 and "stage=warning" not in svc.log()


def test_a_loopback_public_url_with_the_real_github_starts_with_a_warning(services: Any, tmp_path: Path) -> None:
    """Bound to loopback behind a proxy, with PUBLIC_URL forgotten: allowed (it may be local use), but said."""
    env = receiver_env(tmp_path / "data", "https://api.github.com")
    svc = services.start("receiver", "serve", env=env)
    warnings = [line for line in svc.log().splitlines() if "stage=warning" in line]
    assert len(warnings) == 1 and f"PUBLIC_URL {svc.url} is loopback" in warnings[0], svc.log()


def test_rate_limit_answers_429_with_retry_after(services: Any, tmp_path: Path) -> None:
    env = receiver_env(tmp_path / "data", closed_port_url(), RATE_LIMIT_PER_MINUTE="6")
    svc = services.start("receiver", "serve", env=env)
    assert post(svc.url, make_brief()).status_code == 200
    r = post(svc.url, make_brief())
    assert r.status_code == 429
    assert r.json()["error"] == "rate_limited"
    assert int(r.headers["Retry-After"]) >= 1
    assert len(rows(tmp_path / "data")) == 1


def _make_read_only(path: Path) -> None:
    """chmod is enough for a normal user; root ignores it, so as root the directory is made immutable."""
    if os.geteuid() != 0:
        path.chmod(0o555)
        return
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(path)]).returncode != 0:
        pytest.skip("cannot make a directory read-only for root here (no chattr +i)")


def _make_writable(path: Path) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(path)], check=True)
    path.chmod(0o755)


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    data = tmp_path / "ro-data"
    data.mkdir()
    _make_read_only(data)
    yield data
    _make_writable(data)


def test_read_only_data_dir_answers_503_then_heals(services: Any, read_only_dir: Path, ledger: Ledger) -> None:
    svc = services.start("receiver", "serve", env=receiver_env(read_only_dir, closed_port_url()))
    brief = make_brief()
    r = post(svc.url, brief)
    assert r.status_code == 503, r.text
    assert r.json()["error"] == "unavailable" and r.headers["Retry-After"]
    assert requests.get(f"{svc.url}/health", timeout=10).status_code == 503
    assert list(read_only_dir.iterdir()) == []  # nothing half-written
    _make_writable(read_only_dir)
    retry = post(svc.url, brief)  # the client's retry of the very same brief
    stored = [r["nonce"] for r in rows(read_only_dir)]
    ledger("receiver data directory read-only -> 503, heals",
           f"503 while read-only, then {retry.status_code} {retry.json().get('status')}, stored {len(stored)} "
           "(no GitHub in this test)", accepted=1, notified=0,
           lost=int(stored != [brief["nonce"]]), duplicated=max(0, len(stored) - 1))
    assert retry.status_code == 200 and retry.json()["status"] == "accepted"
    assert stored == [brief["nonce"]]


def test_locked_database_answers_503_and_keeps_nothing(services: Any, tmp_path: Path) -> None:
    data = tmp_path / "data"
    svc = services.start("receiver", "serve", env=receiver_env(data, closed_port_url()))
    first = post(svc.url, make_brief())
    assert first.status_code == 200
    lock = sqlite3.connect(data / "outbox.sqlite3", isolation_level=None)
    try:
        lock.execute("BEGIN EXCLUSIVE")
        locked = make_brief()
        r = post(svc.url, locked)
        assert r.status_code == 503 and r.json()["error"] == "unavailable"
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert locked["nonce"] not in [row["nonce"] for row in rows(data)]
    assert post(svc.url, locked).json()["status"] == "accepted"


def listener_closes(host: str, port: int, deadline_s: float = 60.0) -> bool:
    """Whether the receiver stops listening within `deadline_s` (a deadline, not a speed claim).

    A bare TCP connect, not an HTTP request: the kernel completes a connect to a listening socket by itself, so the
    probe never waits for the receiver to be scheduled, and it is refused once the listener is closed.
    """
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, port), timeout=5).close()
        except ConnectionRefusedError:
            return True
        time.sleep(0.01)
    return False


def test_sigterm_lets_an_in_flight_request_finish_then_exits_0(tmp_path: Path) -> None:
    """A brief whose commit is under way when SIGTERM comes still gets its 200, and the process exits 0.

    In flight means the body has arrived: once shutdown starts, aiohttp stops reading request bodies
    (RequestHandler.data_received ignores data when closing), so a half-sent body cannot be finished.
    The test holds the database lock to keep the commit waiting while the signal arrives, and lets go once the
    listener has closed (the commit waits at most the outbox's BUSY_TIMEOUT_S, 2 s, for it).
    It once probed the listener with `GET /health` and a 1 s read timeout: on a loaded machine the receiver, still
    serving before it handled the signal, could answer later than that, and the ReadTimeout was not the
    ConnectionError the probe waited for. `listener_closes` asks the kernel instead.
    """
    data = tmp_path / "data"
    svc = start_receiver(tmp_path / "logs", data, closed_port_url())
    brief = make_brief()
    body = json.dumps(brief).encode()
    host, port = svc.url.removeprefix("http://").split(":")
    lock = sqlite3.connect(data / "outbox.sqlite3", isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        with socket.create_connection((host, int(port)), timeout=20) as sock:
            sock.sendall(f"POST /api-endpoint HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         f"Expect: 100-continue\r\nContent-Length: {len(body)}\r\n\r\n".encode())
            assert sock.recv(1024).startswith(b"HTTP/1.1 100 Continue")  # the server is handling this request
            sock.sendall(body)
            time.sleep(0.2)  # let the body arrive; the commit now waits on our lock
            svc.proc.send_signal(signal.SIGTERM)
            assert listener_closes(host, int(port))
            lock.execute("ROLLBACK")
            answer = sock.recv(65536).decode()
    finally:
        lock.close()
    assert answer.startswith("HTTP/1.1 200"), answer
    assert '"accepted"' in answer
    assert svc.proc.wait(30) == 0
    assert [r["nonce"] for r in rows(data)] == [brief["nonce"]]
