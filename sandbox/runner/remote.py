"""`uses: owner/repo[/path]@ref` fetched from a GitHub (the emulator) over smart HTTP, as GitHub's runner does.

One bare mirror per repository is fetched with plain `git fetch` from `<server_url>/<owner>/<repo>.git` (so a moved
tag such as `v1` is seen by the next job), the ref is resolved in it (a tag, then a branch, as git itself orders
them; or a full commit SHA), and that commit's tree is exported with `git archive` (GitHub serves actions as such a
tarball, so `export-ignore` applies) into `<cache>/<owner>/<repo>/<sha>`, shared by every job that resolves to the
same commit. Failures use GitHub's words ("Unable to resolve action ..., repository not found" / "unable to find
version").
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path

from sandbox.runner.actions import ActionResolver
from sandbox.runner.workflow import ActionRef, WorkflowError

FULL_SHA = re.compile(r"^[0-9a-fA-F]{40}$")
_NOT_FOUND = ("not found", "could not read Username", "Authentication failed")  # git's words for 404 / 401


class ActionFetchError(WorkflowError):
    """A `uses:` reference that cannot be fetched: the job fails while setting up, naming it."""


class RemoteActionResolver(ActionResolver):
    """Fetches actions from other repositories; built-in stand-ins and `./` actions resolve as before."""

    def __init__(self, server_url: str, cache_dir: Path, git_env: Mapping[str, str] | None = None,
                 timeout: float = 120.0):
        self.server_url = server_url.rstrip("/")
        self.cache_dir = Path(cache_dir)
        self.git_env = dict(git_env or {})  # e.g. an Authorization header for private repositories
        self.timeout = timeout
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def fetch(self, ref: ActionRef) -> Path:
        key = f"{ref.owner}/{ref.repo}".lower()
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            repo_cache = self.cache_dir / ref.owner.lower() / ref.repo.lower()
            if FULL_SHA.match(ref.ref) and (repo_cache / ref.ref.lower()).is_dir():
                return repo_cache / ref.ref.lower()
            mirror = repo_cache / "mirror.git"
            self._update(mirror, ref)
            sha = self._resolve(mirror, ref)
            tree = repo_cache / sha
            if not tree.is_dir():
                self._export(mirror, sha, tree)
            return tree

    def _git(self, *args: str, git_dir: Path | None = None) -> subprocess.CompletedProcess[bytes]:
        prefix = ["git", "--git-dir", str(git_dir)] if git_dir is not None else ["git"]
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", **self.git_env}
        return subprocess.run([*prefix, *args], capture_output=True, env=env, timeout=self.timeout, check=False)

    def _update(self, mirror: Path, ref: ActionRef) -> None:
        if not (mirror / "HEAD").is_file():
            mirror.parent.mkdir(parents=True, exist_ok=True)
            done = self._git("init", "--quiet", "--bare", str(mirror))
            if done.returncode != 0:
                raise ActionFetchError(f"uses: {ref.uses}: git init failed: {done.stderr.decode().strip()}")
        url = f"{self.server_url}/{ref.owner}/{ref.repo}.git"
        done = self._git("fetch", "--quiet", "--prune", "--force", url, "+refs/heads/*:refs/heads/*",
                         "+refs/tags/*:refs/tags/*", git_dir=mirror)
        if done.returncode != 0:
            detail = done.stderr.decode(errors="replace").strip()
            if any(marker in detail for marker in _NOT_FOUND):
                raise ActionFetchError(f"Unable to resolve action `{ref.uses}`, repository not found")
            raise ActionFetchError(f"uses: {ref.uses}: git fetch {url} failed: {detail}")

    def _resolve(self, mirror: Path, ref: ActionRef) -> str:
        candidates = [f"refs/tags/{ref.ref}", f"refs/heads/{ref.ref}"]
        if FULL_SHA.match(ref.ref):
            candidates = [ref.ref.lower()]
        for name in candidates:
            done = self._git("rev-parse", "--verify", "--quiet", f"{name}^{{commit}}", git_dir=mirror)
            if done.returncode == 0:
                return done.stdout.decode().strip()
        raise ActionFetchError(f"Unable to resolve action `{ref.uses}`, unable to find version `{ref.ref}`")

    def _export(self, mirror: Path, sha: str, tree: Path) -> None:
        done = self._git("archive", "--format=tar", sha, git_dir=mirror)
        if done.returncode != 0:
            raise ActionFetchError(f"git archive {sha} failed: {done.stderr.decode(errors='replace').strip()}")
        staging = Path(tempfile.mkdtemp(prefix=f".{sha}-", dir=tree.parent))
        try:
            with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
                archive.extractall(staging, filter="data")
            staging.rename(tree)  # whole or not at all: a job never sees a half-written action
        finally:
            shutil.rmtree(staging, ignore_errors=True)
