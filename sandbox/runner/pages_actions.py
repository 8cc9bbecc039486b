"""Built-in stand-ins for GitHub's Pages actions, faithful to what a workflow can observe (sources and rules:
the `action.yml`, README and `src/` of actions/configure-pages, upload-pages-artifact and deploy-pages v5):

- `actions/configure-pages`: `GET /repos/{repo}/pages` with the `token` input (default `github.token`); with
  `enablement: true`, a missing site is created with `build_type: workflow`; outputs `base_url`, `origin`, `host`,
  `base_path` from the site's `html_url`; a missing site without enablement fails with the action's message.
- `actions/upload-pages-artifact`: `tar --dereference` of the `path` input (default `_site/`) without `.git`,
  `.github` and (unless `include-hidden-files`) dot-files, gzipped, uploaded as the run's artifact `name` (default
  `github-pages`) to the emulator's artifact store (`POST /_sandbox/artifacts`, standing for GitHub's artifact
  service); output `artifact_id`, kept by name for later jobs of the same run. An empty or missing path fails as
  `upload-artifact` does (`if-no-files-found: error`).
- `actions/deploy-pages`: needs the job's `pages: write` and `id-token: write`; `POST /repos/{repo}/pages/deployments`
  with `artifact_id`, `pages_build_version` (the run's commit) and an `oidc_token`, then polls
  `GET .../pages/deployments/{id}` until `succeed` (a failed state fails the step) within the `timeout` input (ms),
  and outputs `page_url`, as the action does (`src/internal/deployment.js`).
"""

from __future__ import annotations

import base64
import io
import json
import tarfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests

from sandbox.runner.builtins import BuiltinCall, BuiltinResult

POLL_S = 0.5
# Deployment states that end it without success (schema `pages-deployment-status`).
FAILED = frozenset({"deployment_cancelled", "deployment_failed", "deployment_content_failed",
                    "deployment_attempt_error", "deployment_lost"})


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
    api, _ = _api(call)
    owner, repo = call.repository.split("/", 1)
    run_id = call.env.get("GITHUB_RUN_ID", "")
    uploaded = requests.post(f"{api}/_sandbox/artifacts", timeout=60, json={
        "owner": owner, "repo": repo, "name": name, "run_id": int(run_id) if run_id.isdigit() else None,
        "data": base64.b64encode(buffer.getvalue()).decode("ascii")})
    if uploaded.status_code != 201:
        return BuiltinResult(error=f"Failed to upload artifact {name} (status: {uploaded.status_code}): "
                                   f"{uploaded.text[:300]}")
    artifact_id = str(uploaded.json()["id"])
    target = _artifact_dir(call, name)
    target.mkdir(parents=True, exist_ok=True)
    (target / "id").write_text(artifact_id)
    return BuiltinResult(outputs={"artifact_id": artifact_id},
                         log=[f"{call.uses}: uploaded {count} files from {given} as artifact {name} "
                              f"({len(buffer.getvalue())} bytes, id {artifact_id})"])


def _oidc_token(call: BuiltinCall) -> str:
    """A JWT-shaped stand-in for the job's OIDC token (the emulator requires one and does not verify it)."""
    claims = json.dumps({"repository": call.repository, "sha": call.sha, "aud": "https://github.com"})
    return ".".join(base64.urlsafe_b64encode(part.encode()).decode().rstrip("=")
                    for part in ('{"alg":"none"}', claims, "sandbox"))


def deploy_pages(call: BuiltinCall) -> BuiltinResult:
    for scope in ("id-token", "pages"):
        if call.permissions.get(scope) != "write":
            return BuiltinResult(error=(
                'Ensure GITHUB_TOKEN has permission "id-token: write".' if scope == "id-token" else
                'Ensure GITHUB_TOKEN has permission "pages: write".'))
    name = call.inputs.get("artifact_name") or "github-pages"
    stored = _artifact_dir(call, name) / "id"
    if not stored.is_file():
        return BuiltinResult(error=f"No artifacts named {name} were found for this workflow run. Ensure artifacts "
                                   "are uploaded with actions/upload-pages-artifact.")
    api, headers = _api(call)
    body = {"artifact_id": int(stored.read_text()), "pages_build_version": call.sha, "oidc_token": _oidc_token(call)}
    created = requests.post(f"{api}/repos/{call.repository}/pages/deployments", json=body, headers=headers,
                            timeout=60)
    if created.status_code != 200:
        return BuiltinResult(error=f"Failed to create deployment (status: {created.status_code}) with build "
                                   f"version {call.sha}. {created.json().get('message', '')}".rstrip())
    deployment = created.json()
    log = [f"{call.uses}: created deployment for {call.sha}, status: deployment_in_progress"]
    deadline = time.monotonic() + int(call.inputs.get("timeout") or 600000) / 1000
    while True:
        status = requests.get(str(deployment["status_url"]), headers=headers, timeout=30).json().get("status")
        if status == "succeed":
            break
        if status in FAILED or time.monotonic() > deadline:
            return BuiltinResult(log=log, error="Deployment failed, try again later." if status in FAILED else
                                 "Timeout reached, aborting!")
        time.sleep(POLL_S)
    log.append(f"{call.uses}: Reported success! {deployment['page_url']}")
    return BuiltinResult(outputs={"page_url": str(deployment["page_url"])}, log=log)
