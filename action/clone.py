"""Read a repository's files at a branch head with a shallow `git clone` (nothing is checked out for anyone to use:
the files come back as bytes, and the clone is deleted).

Round 2 needs every file round 1 published. Over the REST API that is one call per file and counts against
GitHub's limits; one shallow clone is a single transfer that does not. The token goes to git through
environment configuration (GIT_CONFIG_*), never on a command line that other processes could read.
"""

from __future__ import annotations

import base64
import os
import subprocess
import tempfile
from pathlib import Path


class CloneError(RuntimeError):
    """`git clone` failed; the message quotes git."""


def git_auth_env(token: str) -> dict[str, str]:
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.extraHeader",
        "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
        "GIT_TERMINAL_PROMPT": "0",
    }


def read_files(clone_url: str, token: str, branch: str, *, timeout: float = 300) -> tuple[str, dict[str, bytes]]:
    """(head sha, path -> bytes) of `branch`; symlinks and submodules are skipped, not followed."""
    with tempfile.TemporaryDirectory(prefix="deployer-clone-") as tmp:
        env = {**os.environ, **git_auth_env(token)}
        done = subprocess.run(
            ["git", "clone", "--quiet", "--depth", "1", "--branch", branch, "--no-tags", clone_url, tmp],
            capture_output=True, text=True, env=env, timeout=timeout,
        )
        if done.returncode != 0:
            raise CloneError(f"git clone of {clone_url} failed: {done.stderr.strip()[-300:]}")
        head = subprocess.run(["git", "-C", tmp, "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
        root = Path(tmp)
        files: dict[str, bytes] = {}
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root)
            if rel.parts[0] == ".git" or path.is_symlink() or not path.is_file():
                continue
            files[rel.as_posix()] = path.read_bytes()
        return head.stdout.strip(), files
