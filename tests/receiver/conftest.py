"""Fixtures for the receiver's tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from receiver_support import closed_port_url, start_receiver

from sandbox.procs import Service


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Service, Path]]:
    """One receiver shared by many status tests (each sends distinct briefs); its dispatches go nowhere."""
    root = tmp_path_factory.mktemp("receiver")
    svc = start_receiver(root / "logs", root / "data", closed_port_url(), MAX_BODY_MB="1")
    yield svc, root / "data"
    assert svc.stop() == 0, svc.log()
