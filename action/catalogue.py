"""OpenRouter's model list (`GET {base}/models`), read once and kept for the run.

Several clients of one run (generation, check translation) may share one catalogue, so the list is read once; they
run in two threads (the checks are prepared while the model writes), so the first read holds a lock the other waits on.
The list only steers the choice of models: when it cannot be read the run goes on with the configured models.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from deployer.models import parse_listing

Listing = Mapping[str, Mapping[str, Any]]


@dataclass
class ModelCatalogue:
    base_url: str
    api_key: str = field(repr=False)
    session: requests.Session = field(default_factory=requests.Session, repr=False)
    timeout: tuple[float, float] = (10.0, 30.0)
    _listing: Listing | None = field(default=None, init=False, repr=False)
    _read: bool = field(default=False, init=False, repr=False)
    problem: str | None = field(default=None, init=False)  # why the list could not be read
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def listing(self) -> Listing | None:
        """id -> OpenRouter's entry for every listed model; None when the list could not be read (see `problem`)."""
        with self._lock:
            if not self._read:
                self._listing = self._fetch()
                self._read = True
            return self._listing

    def _fetch(self) -> Listing | None:
        # The list is public; the key goes along as for every call (the spec's global bearer scheme, [SPEC]).
        url = f"{self.base_url.rstrip('/')}/models"
        try:
            response = self.session.get(url, headers={"Authorization": f"Bearer {self.api_key}"},
                                        timeout=self.timeout)
        except requests.RequestException as exc:
            self.problem = f"{type(exc).__name__}"
            return None
        if response.status_code != 200:
            self.problem = f"GET /models answered HTTP {response.status_code}"
            return None
        try:
            return parse_listing(response.json())
        except ValueError as exc:  # a body that is not JSON is a ValueError too
            self.problem = f"GET /models: {exc}"
            return None
