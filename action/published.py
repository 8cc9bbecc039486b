"""The repository as a round finds it: `Published`, read once (stage `repository`, `publish.read_published`) and
passed to every later stage, so nothing reads or derives it twice. Pure.

From the tree at the default branch's head it derives what a round needs: the files the model wrote (a later round
edits them), the metadata of earlier rounds (`.deployer/brief.json`), their checks (which must keep passing) and
their attachments still in the repository (read-only context for the model, inputs of the build step).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from action.assemble import METADATA_PATH, is_reserved
from action.delivery_record import Status
from deployer.brief import Brief

if TYPE_CHECKING:
    from github.Repository import Repository


class EarlierAttachment(NamedTuple):
    name: str
    round: int
    data: bytes


@dataclass(frozen=True)
class Published:
    """The repository `owner`/`name` as this round finds it (`of` derives the rest from the tree)."""

    owner: str
    name: str
    login: str = ""  # the token's user: it creates the repository itself when it is also the owner
    repo: Repository | None = None  # None: the repository does not exist yet
    head: str | None = None  # the default branch's head commit; None when there is none
    round_commit: str | None = None  # this round's commit, when an earlier run of the round made it
    round_claim: Status | None = None  # the delivery claim that commit carries
    files: Mapping[str, bytes] = field(default_factory=dict)  # the whole tree at `head` (not read for a re-run)
    model_files: Mapping[str, str] = field(default_factory=dict)  # what the model wrote: UTF-8, not ours, not attached
    metadata: Mapping[str, Any] | None = None  # `.deployer/brief.json`: None when the repository holds no site of ours
    earlier_checks: tuple[object, ...] = ()  # of rounds before this one, in order, without repeats
    earlier_attachments: tuple[EarlierAttachment, ...] = ()  # of other rounds, still in the tree (this round's win)

    @classmethod
    def of(cls, brief: Brief, owner: str, files: Mapping[str, bytes] | None = None, *, login: str = "",
           repo: Repository | None = None, head: str | None = None, round_commit: str | None = None,
           round_claim: Status | None = None) -> Published:
        """The state of `owner`/`brief.repo_name` for this brief, everything derived from its tree `files`."""
        files = dict(files or {})
        model_files, metadata = published_files(files)
        return cls(owner, brief.repo_name, login, repo, head, round_commit, round_claim, files, model_files,
                   metadata, tuple(earlier_checks(metadata, brief.round)),
                   tuple(earlier_attachments(files, metadata, brief)))


def read_metadata(raw: bytes | str | None) -> dict[str, Any] | None:
    """The metadata of earlier rounds from the repository's `.deployer/brief.json`; None when absent or unreadable."""
    if raw is None:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("rounds"), list):
        return None
    return data


def published_files(site: Mapping[str, bytes]) -> tuple[dict[str, str], dict[str, Any] | None]:
    """From a site read back from the repository: the files the model wrote, and the metadata of earlier rounds.

    Round 2 sends those files to the model to edit; code-written files, attachments of any round and files that
    are not UTF-8 text are left out.
    """
    meta = read_metadata(site.get(METADATA_PATH))
    attachments = {n for r in (meta or {}).get("rounds", []) if isinstance(r, dict) for n in r.get("attachments", [])}
    files: dict[str, str] = {}
    for path, data in sorted(site.items()):
        if is_reserved(path) or path in attachments:
            continue
        try:
            files[path] = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
    return files, meta


def earlier_checks(meta: Mapping[str, Any] | None, this_round: int) -> list[Any]:
    """The checks of rounds before `this_round`, in order, without repeats: they must keep passing."""
    checks: list[Any] = []
    for entry in (meta or {}).get("rounds", []):
        if isinstance(entry, dict) and isinstance(entry.get("round"), int) and entry["round"] < this_round:
            checks += [c for c in entry.get("checks", []) if c not in checks]
    return checks


def earlier_attachments(published: Mapping[str, bytes], meta: Mapping[str, Any] | None,
                        brief: Brief) -> list[EarlierAttachment]:
    """The attachments of other rounds still in the repository (this round's win over an earlier one's)."""
    mine = {a.name for a in brief.attachments}
    found: dict[str, EarlierAttachment] = {}
    for entry in (meta or {}).get("rounds", []):
        if not isinstance(entry, dict) or entry.get("round") == brief.round:
            continue
        for name in entry.get("attachments", []):
            if isinstance(name, str) and name in published and name not in mine:
                found[name] = EarlierAttachment(name, int(entry.get("round", 0)), published[name])
    return list(found.values())
