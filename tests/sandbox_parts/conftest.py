"""One OpenRouter stand-in per test module, started with its defaults (each start costs a Python start-up)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from sandbox.openrouter.billing import DEFAULT_CREDITS
from tests.conftest import OpenRouter, Services


@pytest.fixture(scope="module")
def shared_openrouter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenRouter]:
    services = Services(tmp_path_factory.mktemp("openrouter-logs"))
    svc = services.start("openrouter", "sandbox", "openrouter", "--port", "0")
    yield OpenRouter(svc, svc.url)
    assert services.stop_all() == {"openrouter": 0}


@pytest.fixture
def openrouter(shared_openrouter: OpenRouter) -> OpenRouter:
    """The module's server with an empty script queue and request log, its default style and a new account."""
    for route in ("script", "requests"):
        requests.delete(f"{shared_openrouter.url}/_sandbox/{route}", timeout=10).raise_for_status()
    for route, default in (("style", {"style": "varied", "seed": 0}), ("credits", {"credits": DEFAULT_CREDITS})):
        requests.post(f"{shared_openrouter.url}/_sandbox/{route}", json=default, timeout=10).raise_for_status()
    return shared_openrouter
