"""A small reference reader of model answers, as careful as aider's editblock coder and no more: what a good parser
must recover from each answer shape the stand-in writes. It is written here, apart from action/parse.py and
action/edits.py, so the stand-in's shapes are proved recoverable without trusting the code under test.
"""

from __future__ import annotations

import re

FILE_TAG_RE = re.compile(r'<file path="([^"]+)">\n(.*?)</file>', re.S)
FENCE_RE = re.compile(r"^(`{3,})([^\n`]*)\n(.*?)^\1[ \t]*$", re.S | re.M)
PATH_RE = re.compile(r"[\w./-]+\.[A-Za-z0-9]+")
BLOCK_RE = re.compile(r"<<<<<<< SEARCH\n(.*?)(?:^=======\n(.*?))?^>>>>>>> REPLACE\n?", re.S | re.M)


def after_thinking(text: str) -> str:
    """Everything a model drafted before its (possibly orphan) `</think>` is thinking, not the answer."""
    return text.rsplit("</think>", 1)[-1]


def named_path(info: str, before: str) -> str | None:
    """A fence's file: the info string's second word, else a path on the last non-empty line before it."""
    words = info.split()
    if len(words) > 1 and PATH_RE.fullmatch(words[1]):
        return words[1]
    lines = [line for line in before.splitlines() if line.strip()]
    found = PATH_RE.findall(lines[-1]) if lines else []
    return found[-1] if found else None


def files(text: str) -> dict[str, str]:
    """Whole files from `<file>` tags and named fences."""
    answer = after_thinking(text)
    found = {path: content for path, content in FILE_TAG_RE.findall(answer)}
    for match in FENCE_RE.finditer(answer):
        if "<<<<<<< SEARCH" in match.group(3):
            continue
        path = named_path(match.group(2), answer[:match.start()])
        if path:
            found[path] = match.group(3)
    return found


def edits(text: str) -> tuple[list[tuple[str, str | None, str | None]], dict[str, str]]:
    """(path, search, replace) per block (search None: malformed, no divider), and new whole files."""
    answer = after_thinking(text)
    blocks: list[tuple[str, str | None, str | None]] = []
    for match in BLOCK_RE.finditer(answer):
        before = answer[:match.start()]
        fence = before.rfind("```")
        opened = before.count("```") % 2 == 1  # the block sits inside a fence: its file is named before the fence
        lines = [line for line in (before[:fence] if opened else before).splitlines() if line.strip()]
        path_line = lines[-1] if lines else ""
        paths = PATH_RE.findall(path_line)
        path = paths[-1] if paths else ""
        if match.group(2) is None:
            blocks.append((path, None, None))
        else:
            blocks.append((path, match.group(1), match.group(2)))
    return blocks, files(answer)


def apply(old: dict[str, str], text: str) -> dict[str, str]:
    """The files after the answer's edits: exact match, then `...` elisions, then lost indentation; a block whose
    REPLACE is already there is applied already; a malformed block is skipped."""
    blocks, new_files = edits(text)
    result = dict(old)
    for path, search, replace in blocks:
        if search is None or replace is None:
            continue
        content = result[path]
        result[path] = _apply_one(content, search, replace)
    result.update(new_files)
    return result


def _apply_one(content: str, search: str, replace: str) -> str:
    if content.count(search) == 1:
        return content.replace(search, replace, 1)
    if search not in content and replace and replace in content:
        return content  # already applied
    if "...\n" in search:
        pieces_s, pieces_r = search.split("...\n"), replace.split("...\n")
        assert len(pieces_s) == len(pieces_r), "elisions must line up"
        for s, r in zip(pieces_s, pieces_r, strict=True):
            assert content.count(s) == 1, f"elided piece not unique: {s!r}"
            content = content.replace(s, r, 1)
        return content
    for width in range(1, 13):
        pad = " " * width
        indented_s = "".join(pad + line if line.strip() else line for line in search.splitlines(keepends=True))
        if content.count(indented_s) == 1:
            indented_r = "".join(pad + line if line.strip() else line for line in replace.splitlines(keepends=True))
            return content.replace(indented_s, indented_r, 1)
    raise AssertionError(f"block does not apply: {search!r}")
