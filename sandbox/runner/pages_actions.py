"""Built-in stand-ins for GitHub's Pages actions, faithful to what a workflow can observe (sources and rules:
`../shared/github-actions/README.md`, "Pages deployment actions"):

- `actions/configure-pages`: `GET /repos/{repo}/pages` with the `token` input (default `github.token`); with
  `enablement: true`, a missing site is created with `build_type: workflow`; outputs `base_url`, `origin`, `host`,
  `base_path` from the site's `html_url`; a missing site without enablement fails with the action's message.
- `actions/upload-pages-artifact`: `tar --dereference` of the `path` input (default `_site/`) without `.git`,
  `.github` and (unless `include-hidden-files`) dot-files, gzipped, kept as the run's artifact `name` (default
  `github-pages`) for later jobs of the same run; output `artifact_id`. An empty or missing path fails as
  `upload-artifact` does (`if-no-files-found: error`).
- `actions/deploy-pages`: needs the job's `pages: write` and `id-token: write`; sends the artifact to the emulator
  (`POST /_sandbox/pages/deploy` with `sha` = the run's commit, GitHub's `pages_build_version`), waits for that
  Pages build within the `timeout` input (ms), and outputs `page_url`.
"""

from __future__ import annotations

import base64
import io
import itertools
import tarfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests

from sandbox.runner.builtins import BuiltinCall, BuiltinResult

_artifact_ids = itertools.count(1000)
POLL_S = 0.5


def _api(call: BuiltinCall) -> tuple[str, dict[str, str]]:
    api = call.env.get("GITHUB_API_URL", "https://api.github.com").rstrip("/")
    token = call.inputs.get("token") or call.token
    return api, {"Authorization": f"token {token}", "Accept": "application/vnd.github+json"}


def configure_pages(call: BuiltinCall) -> BuiltinResult:
    api, headers = _api(call)
    url = f"{api}/repos/{call.repository}/pages"
    answer = requests.get(url, headers=headers, timeout=30)
    if answer.status_code == 404 and call.inputs.get("enablement", "false").lower() == "true":
        created = requests.post(url, headers=headers, json={"build_type": "workflow"}, timeout=30)
        if created.status_code not in (201, 409):
            return BuiltinResult(error=f"Create Pages site failed. Error: {created.json().get('message')}")
        answer = requests.get(url, headers=headers, timeout=30)
    if answer.status_code != 200:
        return BuiltinResult(error=(
            "Get Pages site failed. Please verify that the repository has Pages enabled and configured to build "
            "using GitHub Actions, or consider exploring the `enablement` parameter for this action. Error: "
            f"{answer.json().get('message', answer.reason)}"))
    html_url = str(answer.json()["html_url"])
    parts = urlsplit(html_url)
    base_path = parts.path.rstrip("/")
    outputs = {"base_url": html_url.rstrip("/"), "origin": f"{parts.scheme}://{parts.netloc}",
               "host": parts.netloc, "base_path": base_path}
    return BuiltinResult(outputs=outputs, log=[f"{call.uses}: Pages site {html_url} (build type "
                                               f"{answer.json().get('build_type')})"])


def _artifact_dir(call: BuiltinCall, name: str) -> Path:
    if call.artifacts is None:
        raise RuntimeError("this runner keeps no artifacts")
    return call.artifacts / name


def upload_pages_artifact(call: BuiltinCall) -> BuiltinResult:
    name = call.inputs.get("name") or "github-pages"
    given = call.inputs.get("path") or "_site/"
    source = (call.workspace / given).resolve()
    if not source.is_relative_to(call.workspace.resolve()) or not source.is_dir():
        return BuiltinResult(error=f"No files were found with the provided path: {given}. No artifacts will be "
                                   "uploaded.")
    hidden = call.inputs.get("include-hidden-files", "false").lower() == "true"
    buffer = io.BytesIO()
    count = 0
    with tarfile.open(fileobj=buffer, mode="w:gz", dereference=True) as archive:
        for path in sorted(source.rglob("*")):
            relative = path.relative_to(source)
            parts = relative.parts
            if parts[0] in (".git", ".github") or (not hidden and any(p.startswith(".") for p in parts)):
                continue
            if path.is_file():
                archive.add(path, arcname=f"./{relative.as_posix()}", recursive=False)
                count += 1
    if count == 0:
        return BuiltinResult(error=f"No files were found with the provided path: {given}. No artifacts will be "
                                   "uploaded.")
    target = _artifact_dir(call, name)
    target.mkdir(parents=True, exist_ok=True)
    (target / "artifact.tar.gz").write_bytes(buffer.getvalue())
    artifact_id = str(next(_artifact_ids))
    (target / "id").write_text(artifact_id)
    return BuiltinResult(outputs={"artifact_id": artifact_id},
                         log=[f"{call.uses}: uploaded {count} files from {given} as artifact {name} "
                              f"({len(buffer.getvalue())} bytes, id {artifact_id})"])


def deploy_pages(call: BuiltinCall) -> BuiltinResult:
    for scope in ("id-token", "pages"):
        if call.permissions.get(scope) != "write":
            return BuiltinResult(error=(
                'Ensure GITHUB_TOKEN has permission "id-token: write".' if scope == "id-token" else
                'Ensure GITHUB_TOKEN has permission "pages: write".'))
    name = call.inputs.get("artifact_name") or "github-pages"
    archive = _artifact_dir(call, name) / "artifact.tar.gz"
    if not archive.is_file():
        return BuiltinResult(error=f"No artifacts named {name} were found for this workflow run. Ensure artifacts "
                                   "are uploaded with actions/upload-pages-artifact.")
    api, headers = _api(call)
    owner, repo = call.repository.split("/", 1)
    body = {"owner": owner, "repo": repo, "sha": call.sha,
            "artifact": base64.b64encode(archive.read_bytes()).decode("ascii")}
    created = requests.post(f"{api}/_sandbox/pages/deploy", json=body, timeout=60)
    if created.status_code != 201:
        return BuiltinResult(error=f"Failed to create deployment (status: {created.status_code}) with build "
                                   f"version {call.sha}: {created.text[:300]}")
    build_url = str(created.json()["url"])
    log = [f"{call.uses}: created deployment for {call.sha}"]
    deadline = time.monotonic() + int(call.inputs.get("timeout") or 600000) / 1000
    while True:
        status = requests.get(build_url, headers=headers, timeout=30).json().get("status")
        if status == "built":
            break
        if status == "errored" or time.monotonic() > deadline:
            return BuiltinResult(log=log, error="Deployment failed, try again later." if status == "errored" else
                                 "Timeout reached, aborting!")
        time.sleep(POLL_S)
    page_url = str(requests.get(f"{api}/repos/{call.repository}/pages", headers=headers, timeout=30)
                   .json()["html_url"])
    log.append(f"{call.uses}: Reported success! {page_url}")
    return BuiltinResult(outputs={"page_url": page_url}, log=log)
