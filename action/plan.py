"""Planning a commit, without I/O: tree entries, the commit message and its trailers.

Text files go inline as tree `content` and only binary files become blobs, because GitHub allows few
content-creating requests per minute: a site of any size costs one tree call plus one call per binary file.
The trailers make a round's commit findable, so a re-run of the same round changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from deployer.brief import Brief

TRAILER_TASK = "Deployer-Task"
TRAILER_ROUND = "Deployer-Round"
TRAILER_NONCE = "Deployer-Nonce"
FILE_MODE = "100644"
_TRAILER_RE = re.compile(r"^(Deployer-[A-Za-z]+):[ \t]*(.*?)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class TreeEntry:
    path: str
    text: str | None = None  # inlined as the tree entry's `content`
    binary: bytes | None = None  # uploaded as a blob first


@dataclass(frozen=True)
class CommitPlan:
    message: str
    entries: tuple[TreeEntry, ...]

    @property
    def binary_entries(self) -> tuple[TreeEntry, ...]:
        return tuple(e for e in self.entries if e.binary is not None)


def as_text(data: bytes) -> str | None:
    """The file as text when it can travel inline byte-exact (UTF-8 without NUL), else None."""
    if b"\x00" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def tree_entries(site: dict[str, bytes]) -> tuple[TreeEntry, ...]:
    entries = []
    for path in sorted(site):
        text = as_text(site[path])
        entries.append(TreeEntry(path, text=text) if text is not None else TreeEntry(path, binary=site[path]))
    return tuple(entries)


def summary_line(text: str, limit: int = 72) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def commit_message(brief: Brief) -> str:
    title = f"Deploy {brief.task}, round {brief.round}"
    return (
        f"{title}\n\n{summary_line(brief.brief, 500)}\n\n"
        f"{TRAILER_TASK}: {brief.task}\n{TRAILER_ROUND}: {brief.round}\n{TRAILER_NONCE}: {brief.nonce}\n"
    )


def plan_commit(brief: Brief, site: dict[str, bytes]) -> CommitPlan:
    return CommitPlan(commit_message(brief), tree_entries(site))


def trailers(message: str) -> dict[str, str]:
    """`Deployer-*` trailers of a commit message (the last paragraph wins, as in git)."""
    return {key: value for key, value in _TRAILER_RE.findall(message)}


def is_round_commit(message: str, brief: Brief) -> bool:
    found = trailers(message)
    return (
        found.get(TRAILER_TASK) == brief.task
        and found.get(TRAILER_ROUND) == str(brief.round)
        and found.get(TRAILER_NONCE) == brief.nonce
    )


def repo_description(brief: Brief) -> str:
    """GitHub refuses control characters in a description; keep it one short line."""
    text = "".join(c if c.isprintable() else " " for c in brief.brief)
    return summary_line(text, 300)
