"""Small helpers the emulator's tests share: raw REST calls and waiting for a Pages build."""

from __future__ import annotations

import time

import requests

from tests.conftest import GitHub


def call(gh: GitHub, method: str, path: str, token: str | None = None, headers: dict[str, str] | None = None,
         **kw: object) -> requests.Response:
    """One REST call as `token` (default: the first user's); `token=""` sends no credentials."""
    token = gh.token if token is None else token
    headers = {**({"Authorization": f"token {token}"} if token else {}), **(headers or {})}
    return requests.request(method, f"{gh.url}{path}", headers=headers, timeout=10, **kw)  # type: ignore[arg-type]


def make_repo(gh: GitHub, name: str = "site", token: str | None = None, **body: object) -> dict:
    r = call(gh, "POST", "/user/repos", token, json={"name": name, "auto_init": True, **body})
    assert r.status_code == 201, r.text
    return r.json()


def wait_for_build(gh: GitHub, full_name: str, commit: str, deadline_s: float = 30) -> dict:
    """Poll the latest Pages build until it settled for `commit` (as the deployer does); return it."""
    end = time.monotonic() + deadline_s
    while True:
        latest = call(gh, "GET", f"/repos/{full_name}/pages/builds/latest")
        build = latest.json() if latest.status_code == 200 else {}
        if build.get("commit") == commit and build.get("status") in ("built", "errored"):
            return build
        assert time.monotonic() < end, f"no settled build of {commit}: {build}"
        time.sleep(0.05)
