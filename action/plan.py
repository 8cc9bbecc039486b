"""Planning a commit, without I/O: `CommitPlan`, its tree entries, the commit message and its trailers, and what the
push will start (the workflows it runs, how Pages builds the site).

Text files go inline as tree `content` and only binary files become blobs, because GitHub allows few
content-creating requests per minute: a site of any size costs one tree call plus one call per binary file.
The trailers make a round's commit findable, so a re-run of the same round changes nothing.
Files the brief keeps out of the repository are left out here, and a plan that holds one cannot be made at all
(`ExcludedFileInCommit`), however a later change builds or alters it.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from action.workflow_policy import deploys_pages, push_workflows, workflow_paths
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

    @property
    def data(self) -> bytes:
        return self.binary if self.binary is not None else (self.text or "").encode("utf-8")


class ExcludedFileInCommit(ValueError):
    """A commit plan holds a file the brief says must not be committed."""


@dataclass(frozen=True)
class CommitPlan:
    message: str
    entries: tuple[TreeEntry, ...]
    excluded: frozenset[str] = frozenset()  # paths this commit must never hold

    def __post_init__(self) -> None:
        present = sorted(self.excluded & {e.path for e in self.entries})
        if present:
            raise ExcludedFileInCommit(f"the brief says {', '.join(present)} must not be committed, but the commit "
                                       "would hold it")

    @property
    def binary_entries(self) -> tuple[TreeEntry, ...]:
        return tuple(e for e in self.entries if e.binary is not None)

    def content(self, path: str) -> bytes | None:
        return next((e.data for e in self.entries if e.path == path), None)

    @property
    def workflows(self) -> dict[str, str]:
        """The GitHub workflows the commit holds: path -> text."""
        paths = set(workflow_paths(e.path for e in self.entries))
        return {e.path: e.data.decode("utf-8", "replace") for e in self.entries if e.path in paths}

    @property
    def pages_build_type(self) -> str:
        """`workflow` when a workflow of the site deploys Pages (the push starts it), else `legacy` (a branch build)."""
        return "workflow" if deploys_pages(self.workflows) else "legacy"

    def push_workflows(self, branch: str) -> list[str]:
        """The workflows a push of this commit to `branch` starts: their runs are waited for before Pages."""
        return push_workflows(self.workflows, branch)


def as_text(data: bytes) -> str | None:
    """The file as text when it can travel inline byte-exact (UTF-8 without NUL), else None."""
    if b"\x00" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def tree_entries(site: Mapping[str, bytes]) -> tuple[TreeEntry, ...]:
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


def plan_commit(brief: Brief, site: Mapping[str, bytes], excluded: Collection[str] = ()) -> CommitPlan:
    """The commit of `site` for this round, without the files the brief keeps out of the repository."""
    kept = {p: d for p, d in site.items() if p not in excluded}
    return CommitPlan(commit_message(brief), tree_entries(kept), frozenset(excluded))


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
