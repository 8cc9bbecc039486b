"""One emulator per test module for the emulator's own tests (each test uses its own repositories), checked
against GitHub's description at the end like the suite-wide `github` fixture."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import GitHub, Services, start_github


@pytest.fixture(scope="module")
def gh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitHub]:
    services = Services(tmp_path_factory.mktemp("logs"))
    # Many writes per module: GitHub's secondary limit (80/min) has its own test with its own emulator.
    emulator = start_github(services, tmp_path_factory.mktemp("github"), "--content-limit", "100000")
    yield emulator
    violations = emulator.sandbox("GET", "spec-violations").json()
    statuses = services.stop_all()
    assert not violations, f"GitHub emulator answers that differ from GitHub's description: {violations}"
    assert statuses == {"github": 0}
