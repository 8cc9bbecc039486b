"""BASELINE, not our publisher: commit a site the way many deployers do, one Contents API PUT per file
(`PUT /repos/{owner}/{repo}/contents/{path}`, each its own commit), for bench/api_calls.py to count.

Generous to the baseline: it keeps the blob SHAs of what it put (no GET before an update) and only puts files
that changed since its last round. Round 1 also creates the repository (empty: the first PUT makes its first
commit) and enables Pages, as ours does.
"""

from __future__ import annotations

import base64
import hashlib

import requests


def blob_sha(data: bytes) -> str:
    """Git's blob id of `data`: what the Contents API wants as `sha` to update a file."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


class ContentsError(RuntimeError):
    pass


class ContentsPublisher:
    def __init__(self, api_url: str, token: str, owner: str, repo: str):
        self.http = requests.Session()
        self.http.headers.update({"Authorization": f"token {token}", "Accept": "application/vnd.github+json"})
        self.api_url, self.owner, self.repo = api_url, owner, repo
        self.published: dict[str, bytes] = {}

    def publish(self, site: dict[str, bytes], message: str) -> None:
        """One round: create the repository and Pages the first time, then a PUT for each new or changed file."""
        first = not self.published
        if first:
            self._ok(self.http.post(f"{self.api_url}/user/repos", json={"name": self.repo},
                                    timeout=30))
        for path, data in sorted(site.items()):
            if self.published.get(path) == data:
                continue
            body = {"message": f"{message}: {path}", "content": base64.b64encode(data).decode()}
            if path in self.published:
                body["sha"] = blob_sha(self.published[path])
            self._ok(self.http.put(f"{self.api_url}/repos/{self.owner}/{self.repo}/contents/{path}", json=body,
                                   timeout=30))
            self.published[path] = data
        if first:
            self._ok(self.http.post(f"{self.api_url}/repos/{self.owner}/{self.repo}/pages",
                                    json={"source": {"branch": "main", "path": "/"}}, timeout=30))

    @staticmethod
    def _ok(answer: requests.Response) -> None:
        if answer.status_code >= 300:
            raise ContentsError(f"{answer.request.method} {answer.url}: HTTP {answer.status_code} {answer.text[:200]}")
