"""Shared fixtures: the sandbox's servers, started as real processes exactly as a user starts them."""

from __future__ import annotations

import json
import os
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from sandbox.procs import Service, deployer_argv, start_service

# The fault suite's table (tests/faults/table.py) is printed by the controlling process, so it is registered here.
pytest_plugins = ["tests.faults.table"]


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto` (pyproject's addopts): two workers a core. Most tests wait on sockets, processes and GitHub's
    emulated delays (creation lag, write pacing, CDN), not on the CPU: on 2 cores the suite's load average stayed
    near 1 with one worker a core."""
    return 2 * (os.cpu_count() or 1)


class Services:
    """Starts `deployer ...` servers; at teardown each must stop cleanly on SIGTERM (exit 0)."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.started: list[Service] = []

    def start(self, name: str, *args: str, env: dict[str, str] | None = None) -> Service:
        service = start_service(name, deployer_argv(*args), log_dir=self.log_dir, env=env)
        self.started.append(service)
        return service

    def stop_all(self) -> dict[str, int]:
        return {s.name: s.stop() for s in reversed(self.started)}


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    svc = Services(tmp_path / "logs")
    yield svc
    statuses = svc.stop_all()
    killed = {name: rc for name, rc in statuses.items() if rc not in (0, -9)}
    assert not killed, f"servers did not stop cleanly on SIGTERM: {killed}"


# The emulator with GitHub's behaviours on (issue 14), with test-sized delays instead of GitHub's seconds and minutes:
# every test's GitHub, unless a test turns one behaviour off and says why.
REALISTIC = ("--creation-lag", "1", "--cdn-max-age", "2")


@dataclass
class GitHub:
    """A running emulator: `url` is the REST root, like https://api.github.com; `pages_hosts` each owner's Pages
    host, like https://<owner>.github.io."""

    service: Service
    url: str
    pages_hosts: dict[str, str]
    server_url: str
    token: str = "sandbox-token"
    user: str = "sandbox"
    other_token: str = "other-token"
    other_user: str = "other"

    def sandbox(self, method: str, route: str, **kwargs: object) -> requests.Response:
        """Call a test-only `/_sandbox/` route."""
        return requests.request(method, f"{self.url}/_sandbox/{route}", timeout=10, **kwargs)  # type: ignore[arg-type]

    def settle(self, full_name: str, token: str | None = None, limit: float = 15.0) -> None:
        """Wait out GitHub's creation lag (the new repository reads as missing, then everything at once) for a test
        about something else; the action's own reads go through `publish.settled`."""
        until = time.monotonic() + limit
        auth = {"Authorization": f"token {token or self.token}"}
        while requests.get(f"{self.url}/repos/{full_name}", headers=auth, timeout=10).status_code == 404:
            assert time.monotonic() < until, f"{full_name} still missing {limit:.0f} s after it was created"
            time.sleep(0.1)

    def site(self, repo: str, owner: str | None = None) -> str:
        """Where GitHub serves a project site: `https://<owner>.github.io/<repo>/`."""
        return f"{self.pages_hosts[(owner or self.user).lower()]}/{repo}/"


def start_github(services: Services, data: Path, *extra: str, build_delay: float = 0.3,
                 world: tuple[str, ...] = REALISTIC) -> GitHub:
    svc = services.start(
        "github", "sandbox", "github", "--port", "0", "--pages-port", "0",
        "--user", "sandbox", "--token", "sandbox-token", "--user", "other", "--token", "other-token",
        "--build-delay", str(build_delay), "--data", str(data), *world, *extra,
    )
    info = requests.get(f"{svc.url}/_sandbox/info", timeout=10).json()
    return GitHub(svc, svc.url, info["pages_hosts"], info["server_url"])


@pytest.fixture
def github(services: Services, tmp_path: Path) -> Iterator[GitHub]:
    gh = start_github(services, tmp_path / "github")
    yield gh
    # Every answer the emulator gave during the test must match GitHub's OpenAPI description.
    violations = gh.sandbox("GET", "spec-violations").json()
    assert not violations, f"GitHub emulator answers that differ from GitHub's description: {violations}"


@dataclass
class OpenRouter:
    """A running stand-in: `base_url` is what a client uses in place of https://openrouter.ai/api/v1."""

    service: Service
    url: str
    key: str = "sk-or-v1-sandbox-test-key"

    @property
    def base_url(self) -> str:
        return f"{self.url}/api/v1"

    def script(self, *responses: dict[str, object]) -> None:
        r = requests.post(f"{self.url}/_sandbox/script", json={"responses": list(responses)}, timeout=10)
        r.raise_for_status()

    def requests(self) -> list[dict[str, object]]:
        return requests.get(f"{self.url}/_sandbox/requests", timeout=10).json()

    def site_requests(self) -> list[dict[str, object]]:
        """Every request but the action's round plans (`<plan-round>`, action/planner.py): continuations included."""
        return [r for r in self.requests() if not is_planning(r)]

    def generation_requests(self) -> list[dict[str, object]]:
        """The action's asks for a site: `site_requests` without the continuations of an answer cut at max_tokens
        (they end with the answer so far: the varied style cuts some)."""
        return [r for r in self.site_requests() if not is_continuation(r)]

    def planning_requests(self) -> list[dict[str, object]]:
        return [r for r in self.requests() if is_planning(r)]


def is_planning(request: dict[str, object]) -> bool:
    return "<plan-round>" in json.dumps(request.get("body"))


def is_continuation(request: dict[str, object]) -> bool:
    body = request.get("body")
    messages = body.get("messages") if isinstance(body, dict) else None
    return isinstance(messages, list) and bool(messages) and messages[-1].get("role") == "assistant"


@pytest.fixture
def openrouter(services: Services, request: pytest.FixtureRequest) -> OpenRouter:
    # Varied by default, as real models write (sandbox/openrouter/README.md); seeded by the test's name, so a failure
    # replays with the same answers.
    seed = zlib.crc32(request.node.nodeid.encode())
    svc = services.start("openrouter", "sandbox", "openrouter", "--port", "0", "--seed", str(seed))
    return OpenRouter(svc, svc.url)


@dataclass
class Evaluator:
    service: Service
    url: str

    @property
    def notify_url(self) -> str:
        return f"{self.url}/notify"

    def notifications(self) -> list[dict[str, object]]:
        return requests.get(f"{self.url}/notifications", timeout=10).json()


@pytest.fixture
def evaluator(services: Services) -> Evaluator:
    svc = services.start("evaluator", "sandbox", "evaluator", "--port", "0")
    return Evaluator(svc, svc.url)
