"""One emulator per test module for the emulator's own tests (each test uses its own repositories), checked
against GitHub's description at the end like the suite-wide `github` fixture: `gh` in the ideal world the suite
runs in today, `real` with GitHub's behaviours on (test-sized delays); a test that switches a behaviour of `real`
gets the settings it started with back afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import REALISTIC, GitHub, Services, start_github


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


@pytest.fixture(scope="module")
def real_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitHub]:
    services = Services(tmp_path_factory.mktemp("logs"))
    # GitHub's 80 writes a minute would make the module wait; the secondary limits have their own test.
    emulator = start_github(services, tmp_path_factory.mktemp("github"), "--content-limit", "100000",
                            world=REALISTIC)
    yield emulator
    violations = emulator.sandbox("GET", "spec-violations").json()
    statuses = services.stop_all()
    assert not violations, f"GitHub emulator answers that differ from GitHub's description: {violations}"
    assert statuses == {"github": 0}


@pytest.fixture
def real(real_emulator: GitHub) -> Iterator[GitHub]:
    before = real_emulator.sandbox("GET", "settings").json()
    yield real_emulator
    assert real_emulator.sandbox("PATCH", "settings", json=before).status_code == 200
