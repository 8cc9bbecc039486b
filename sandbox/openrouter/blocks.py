"""The two answer formats the action asks for, written cleanly: whole `<file path>` blocks, and search/replace edit
blocks (action/prompts/edit.md) computed line by line from the published files and the new ones.

Pure. An edit block has enough context to match exactly once and blocks apply in order; new files are written
whole; files that did not change are left out.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

EDIT_CONTEXTS = (3, 8, 20)  # lines of context tried around a change until every block matches once
NO_CHANGES = "No changes are needed.\n"


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


def changes(old: dict[str, str], new: dict[str, str]) -> list[Change]:
    """What turns `old` into `new`, in the order of `new`'s files."""
    found: list[Change] = []
    for path, content in new.items():
        before = old.get(path)
        if before == content:
            continue
        if not before:
            found.append(NewFile(path, content))
            continue
        found += [Block(path, s, r) for s, r in hunks(before, content)]
    return found


def edit_blocks(old: dict[str, str], new: dict[str, str]) -> str:
    parts = [block_text(c) if isinstance(c, Block) else whole_files({c.path: c.content}) for c in changes(old, new)]
    return "\n".join(parts) or NO_CHANGES


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
