"""Planning a commit, without I/O: `CommitPlan`, its tree entries, the commit message and its trailers, and what the
push will start (the workflows it runs, how Pages builds the site).

Text files go inline as tree `content` and binary files become blobs, because GitHub allows few content-creating
requests per minute (80) and per hour (500): a site costs one tree call plus one call per blob. An inline tree has
a size limit of its own: GitHub answers 422 "Sorry, your request timed out. It's likely that your input was too
large to process" to tree bodies from about 2.5 MB (qoomon/actions--create-commit#90, codesandbox/
codesandbox-client#8614), every time. So a larger tree goes in parts (`tree_parts`) of at most INLINE_TREE_BYTES
each, counted as the JSON that is sent (escapes included), each part built on the one before (`base_tree`); only a
text file that alone passes that size goes as a blob.
The trailers make a round's commit findable, so a re-run of the same round changes nothing.
Files the brief keeps out of the repository are left out here, and a plan that holds one cannot be made at all
(`ExcludedFileInCommit`), however a later change builds or alters it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from action.workflow_policy import deploys_pages, push_workflows, workflow_paths
from deployer.brief import Brief

TRAILER_TASK = "Deployer-Task"
TRAILER_ROUND = "Deployer-Round"
TRAILER_NONCE = "Deployer-Nonce"
TRAILER_CLAIM = "Deployer-Claim"  # who notifies the round (action/delivery_record.py)
FILE_MODE = "100644"
# The largest tree request we send, in bytes of its JSON body: 40% of the ~2.5 MB at which GitHub refuses one, since
# the refusal is a timeout ("Sorry, your request timed out") and a busy GitHub times out sooner.
INLINE_TREE_BYTES = 1_000_000
_TRAILER_RE = re.compile(r"^(Deployer-[A-Za-z]+):[ \t]*(.*?)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class TreeEntry:
    path: str
    text: str | None = None  # inlined as the tree entry's `content`
    blob: bytes | None = None  # uploaded as a blob first: binary files, and text too large for the inline tree

    @property
    def data(self) -> bytes:
        return self.blob if self.blob is not None else (self.text or "").encode("utf-8")

    def tree_item(self, sha: str | None = None) -> dict[str, str]:
        """The entry as the tree request sends it: inline content, or the blob's sha."""
        item = {"path": self.path, "mode": FILE_MODE, "type": "blob"}
        return {**item, "sha": sha or ""} if self.blob is not None else {**item, "content": self.text or ""}


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
    def blob_entries(self) -> tuple[TreeEntry, ...]:
        return tuple(e for e in self.entries if e.blob is not None)

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


def tree_body_bytes(entries: Iterable[TreeEntry]) -> int:
    """The size of the tree request's JSON body for these entries, as PyGithub sends it (`json.dumps`, ASCII with
    escapes); a blob's entry is counted with its 40-hex sha."""
    return len(json.dumps({"tree": [e.tree_item("0" * 40) for e in entries]}))


def tree_entries(site: Mapping[str, bytes], inline_limit: int = INLINE_TREE_BYTES) -> tuple[TreeEntry, ...]:
    """Text inline and binary as blobs, in path order; a text file whose entry alone passes `inline_limit` bytes of
    tree body is a blob too."""
    entries = []
    for path in sorted(site):
        text = as_text(site[path])
        entry = TreeEntry(path, text=text) if text is not None else TreeEntry(path, blob=site[path])
        if entry.text is not None and tree_body_bytes([entry]) > inline_limit:
            entry = TreeEntry(path, blob=site[path])
        entries.append(entry)
    return tuple(entries)


def tree_parts(entries: Iterable[TreeEntry], limit: int = INLINE_TREE_BYTES) -> list[tuple[TreeEntry, ...]]:
    """The entries in order, cut into tree requests whose bodies are at most `limit` bytes each (one for any site
    under that size). An entry's share of a body is its item and the ", " before the next; the rest is the
    `{"tree": []}` around them."""
    frame = tree_body_bytes([])
    parts: list[tuple[TreeEntry, ...]] = []
    part: list[TreeEntry] = []
    size = frame
    for entry in entries:
        share = tree_body_bytes([entry]) - frame + 2
        if part and size + share - 2 > limit:
            parts.append(tuple(part))
            part, size = [], frame
        part.append(entry)
        size += share
    return [*parts, tuple(part)]


def summary_line(text: str, limit: int = 72) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def commit_message(brief: Brief, claim: str = "") -> str:
    title = f"Deploy {brief.task}, round {brief.round}"
    return (
        f"{title}\n\n{summary_line(brief.brief, 500)}\n\n"
        f"{TRAILER_TASK}: {brief.task}\n{TRAILER_ROUND}: {brief.round}\n{TRAILER_NONCE}: {brief.nonce}\n"
        + (f"{TRAILER_CLAIM}: {claim}\n" if claim else "")
    )


def plan_commit(brief: Brief, site: Mapping[str, bytes], excluded: Collection[str] = (), *,
                claim: str = "") -> CommitPlan:
    """The commit of `site` for this round, without the files the brief keeps out of the repository; `claim`
    says which run notifies it (action/delivery_record.py:commit_claim)."""
    kept = {p: d for p, d in site.items() if p not in excluded}
    return CommitPlan(commit_message(brief, claim), tree_entries(kept), frozenset(excluded))


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
