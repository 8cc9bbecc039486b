"""The two answer formats the action asks for, written cleanly: whole `<file path>` blocks, and search/replace edit
blocks (action/prompts/edit.md) computed line by line from the published files and the new ones.

Pure. An edit block has enough context to match exactly once and blocks apply in order; new files are written
whole; files that did not change are left out.

A published file seen only as an outline (lines copied from it, `...` for the rest) is edited the way a model with a
repository map edits it (aider.chat/docs/repomap.html: the map shows "the critical lines of code"; aider's FAQ "Why
did aider ignore/discard its proposed edits after it asked to add a new file to the chat?": models propose edits
to files they were not given whole): blocks whose SEARCH comes from the lines it saw; what it did not see, it
assumes unchanged.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

EDIT_CONTEXTS = (3, 8, 20)  # lines of context tried around a change until every block matches once
NO_CHANGES = "No changes are needed.\n"
ELISION = "..."  # an outline's line standing for lines left out (action/outline.py)


@dataclass(frozen=True)
class Block:
    path: str
    search: str
    replace: str


@dataclass(frozen=True)
class NewFile:
    path: str
    content: str


Change = Block | NewFile


def file_block(path: str, content: str) -> str:
    return f'<file path="{path}">\n{content}</file>'


def whole_files(files: dict[str, str]) -> str:
    return "\n".join(file_block(path, content) for path, content in files.items()) + "\n"


def block_text(block: Block) -> str:
    return f"{block.path}\n<<<<<<< SEARCH\n{block.search}=======\n{block.replace}>>>>>>> REPLACE\n"


def changes(old: dict[str, str], new: dict[str, str], outlines: dict[str, str] | None = None) -> list[Change]:
    """What turns `old` into `new`, in the order of `new`'s files; a file known only by its outline is changed
    where the outline shows it."""
    found: list[Change] = []
    for path, content in new.items():
        before = old.get(path)
        if before == content:
            continue
        if not before and path in (outlines or {}):
            found += [Block(path, s, r) for s, r in outline_hunks((outlines or {})[path], content)]
            continue
        if not before:
            found.append(NewFile(path, content))
            continue
        found += [Block(path, s, r) for s, r in hunks(before, content)]
    return found


def edit_blocks(old: dict[str, str], new: dict[str, str], outlines: dict[str, str] | None = None) -> str:
    parts = [block_text(c) if isinstance(c, Block) else whole_files({c.path: c.content})
             for c in changes(old, new, outlines)]
    return "\n".join(parts) or NO_CHANGES


def outline_hunks(outline: str, after: str) -> list[tuple[str, str]]:
    """(search, replace) pairs from an outline's runs of shown lines to the new file: each run is found in the new
    file by the lines they share, and where that part of the new file differs, the run's lines are replaced."""
    new = after.splitlines(keepends=True)
    pairs: list[tuple[str, str]] = []
    for run in _runs(outline):
        matched = [m for m in difflib.SequenceMatcher(None, run, new, autojunk=False).get_matching_blocks() if m.size]
        if not matched:
            continue
        start = matched[0].b - matched[0].a
        end = matched[-1].b + matched[-1].size + (len(run) - matched[-1].a - matched[-1].size)
        if start < 0 or end > len(new):
            continue
        before, region = "".join(run), "".join(new[start:end])
        if before != region:
            pairs += hunks(before, region)
    return pairs


def _runs(outline: str) -> list[list[str]]:
    """The outline's runs of consecutive shown lines (split at its `...` lines), each line with its newline."""
    runs: list[list[str]] = [[]]
    for line in outline.split("\n"):
        if line.strip() == ELISION:
            runs.append([])
        else:
            runs[-1].append(line + "\n")
    return [run for run in runs if run]


def hunks(before: str, after: str) -> list[tuple[str, str]]:
    """(search, replace) pairs that, applied in order, each match exactly once; one whole-file pair at worst."""
    a, b = before.splitlines(keepends=True), after.splitlines(keepends=True)
    for context in EDIT_CONTEXTS:
        pairs = [
            ("".join(a[g[0][1]:g[-1][2]]), "".join(b[g[0][3]:g[-1][4]]))
            for g in difflib.SequenceMatcher(None, a, b, autojunk=False).get_grouped_opcodes(context)
        ]
        text = before
        for search, replace in pairs:
            if not search or text.count(search) != 1:
                break
            text = text.replace(search, replace, 1)
        else:
            if text == after:
                return pairs
    return [(before, after)]


def apply_strictly(files: dict[str, str], blocks: list[Block]) -> dict[str, str] | None:
    """`files` with every block applied in order, or None when a SEARCH does not occur exactly once."""
    result = dict(files)
    for block in blocks:
        text = result.get(block.path, "")
        if text.count(block.search) != 1:
            return None
        result[block.path] = text.replace(block.search, block.replace, 1)
    return result
