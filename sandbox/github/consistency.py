"""Eventual consistency after creating a repository: for a few seconds GitHub answers as if it did not exist yet.

Reported: clients sleep or poll after `POST /user/repos` because the repository is not found (jenkins-x/jx#7130,
fabric8-launcher/launchpad-missioncontrol#226), its default branch has no commit ("No commit found for SHA:
main", codesandbox/codesandbox-client#5604) and Git Data calls see an empty repository (409, codesandbox/
codesandbox-client#3675). Each call answers what GitHub answers for a repository in that state.
"""

from __future__ import annotations

import hashlib

from sandbox.github.errors import ApiError, empty_repository, not_found

_REPO = "/repos/{owner}/{repo}"
_EMPTY = {
    ("GET", f"{_REPO}/commits"), ("GET", f"{_REPO}/git/ref/{{ref}}"), ("GET", f"{_REPO}/git/commits/{{commit_sha}}"),
    ("GET", f"{_REPO}/git/trees/{{tree_sha}}"), ("GET", f"{_REPO}/git/blobs/{{file_sha}}"),
    ("POST", f"{_REPO}/git/blobs"), ("POST", f"{_REPO}/git/trees"), ("POST", f"{_REPO}/git/commits"),
    ("POST", f"{_REPO}/git/refs"), ("PATCH", f"{_REPO}/git/refs/{{ref}}"),
}


def lag_seconds(creation_lag: float, seed: int, full_name: str) -> float:
    """This repository's lag: between half and all of `creation_lag`, fixed by the seed and the name."""
    if creation_lag <= 0:
        return 0.0
    digest = hashlib.sha256(f"{seed}:{full_name.lower()}".encode()).digest()
    return creation_lag * (0.5 + 0.5 * int.from_bytes(digest[:4], "big") / 0xFFFFFFFF)


def lag_error(method: str, template: str | None, ref: str | None = None) -> ApiError | None:
    """What `method template` answers while the repository is still settling (None: it answers normally)."""
    if (method, template) == ("GET", _REPO):
        return not_found()
    if (method, template) == ("GET", f"{_REPO}/commits/{{ref}}"):
        return ApiError(422, f"No commit found for SHA: {ref}")
    if (method, template) == ("GET", f"{_REPO}/contents/{{path}}"):
        return ApiError(404, "This repository is empty.")
    if (method, template) in _EMPTY:
        return empty_repository()
    return None
