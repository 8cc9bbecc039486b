"""Small helpers the emulator's tests share: raw REST calls and waiting for a Pages build."""

from __future__ import annotations

import base64
import io
import tarfile
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


def put_file(gh: GitHub, repo: str, path: str, data: bytes, token: str | None = None) -> str:
    """Create or update one file of `sandbox/<repo>` with the Contents API; the new commit."""
    current = call(gh, "GET", f"/repos/sandbox/{repo}/contents/{path}", token)
    body = {"message": f"write {path}", "content": base64.b64encode(data).decode()}
    if current.status_code == 200:
        body["sha"] = current.json()["sha"]
    r = call(gh, "PUT", f"/repos/sandbox/{repo}/contents/{path}", token, json=body)
    assert r.status_code in (200, 201), r.text
    return r.json()["commit"]["sha"]


def artifact(files: dict[str, bytes]) -> str:
    """A Pages artifact as upload-pages-artifact makes it (gzipped tar), base64 for /_sandbox/artifacts."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(f"./{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return base64.b64encode(buffer.getvalue()).decode()


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


def wait_until(predicate, deadline_s: float = 30, what: str = "condition"):  # type: ignore[no-untyped-def]
    """Poll `predicate` until it returns something truthy; that value."""
    end = time.monotonic() + deadline_s
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.05)
