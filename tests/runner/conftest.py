"""Fixtures for the local runner's tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from runner_support import make_repo


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """fixtures/repo as a git repository on `main` (what a dispatch's checkout would hold)."""
    return make_repo(tmp_path / "repo")
