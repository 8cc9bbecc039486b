"""Search/replace edit blocks: parse them out of a model's answer and apply them strictly. Pure.

The format (explained to the model in `prompts/edit.md`), one block per change, the file's path alone on the line
before it (a Markdown fence may sit between the path and the block, or name the path itself; a block with no path
after another block is for the same file):

    index.html
    <<<<<<< SEARCH
    <h1>Old</h1>
    =======
    <h1>New</h1>
    >>>>>>> REPLACE

New files come as whole `<file path="...">` blocks (read by `action.parse`); a whole-file block for an existing path
replaces that file. Applying is strict: the SEARCH text must occur exactly once in the file as it stands after the
blocks before it, with no fuzzy matching, because a guessed location silently breaks what an earlier round built.
A block that does not apply is reported (not found / matches N times / unknown file) and the others still apply.
An empty SEARCH creates a file that does not exist yet.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from action.parse import ParseError, parse_files

_SEARCH_RE = re.compile(r"^ {0,3}<{5,9} ?SEARCH\s*$")
_DIVIDER_RE = re.compile(r"^ {0,3}={5,9}\s*$")
_REPLACE_RE = re.compile(r"^ {0,3}>{5,9} ?REPLACE\s*$")
_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_FILE_OPEN_RE = re.compile(r"<file\s+(?:path|name)\s*=", re.IGNORECASE)
_PATH_DECOR = " \t*`'\"#:"
_CONTEXT_LINES = 6


@dataclass(frozen=True)
class EditBlock:
    path: str
    search: str
    replace: str

    @property
    def first_line(self) -> str:
        return next((line.strip() for line in self.search.splitlines() if line.strip()), "")

    def text(self) -> str:
        """The block as the model wrote it, for quoting back in a repair request."""
        return f"{self.path}\n<<<<<<< SEARCH\n{self.search}=======\n{self.replace}>>>>>>> REPLACE"


@dataclass(frozen=True)
class Failure:
    block: EditBlock
    reason: str  # "not found", "matches 3 times", "no such file", ...
    context: str = ""  # the current text near where the block was probably meant to apply

    @property
    def message(self) -> str:
        first = self.block.first_line
        start = f' beginning "{first[:80]}"' if first else ""
        return f"the SEARCH text{start} {self.reason}"

    def __str__(self) -> str:
        return f"{self.block.path}: {self.message}"


@dataclass
class Answer:
    """What an edit-round answer asks for: edit blocks in order, and whole files (new or replaced)."""

    edits: list[EditBlock] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Applied:
    files: dict[str, str]  # every file after the edits that applied
    changed: frozenset[str]  # paths an applied block or a whole file targeted
    failures: tuple[Failure, ...]


def parse_answer(text: str) -> Answer:
    """Edit blocks and whole `<file>` blocks; ParseError when the answer holds neither (or a block is cut off)."""
    text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    answer = Answer()
    rest: list[str] = []
    i = 0
    while i < len(lines):
        if not _SEARCH_RE.match(lines[i]):
            rest.append(lines[i])
            i += 1
            continue
        path = _path_before(rest)
        search, i = _collect(lines, i + 1, _DIVIDER_RE, "=======")
        replace, i = _collect(lines, i, _REPLACE_RE, ">>>>>>> REPLACE")
        if not path and answer.edits:
            path = answer.edits[-1].path  # a further block for the same file, as models often write them
        if not path:
            raise ParseError("an edit block has no file path on the line before <<<<<<< SEARCH")
        answer.edits.append(EditBlock(path, search, replace))
    remainder = "\n".join(rest)
    if not answer.edits or _FILE_OPEN_RE.search(remainder):
        try:
            answer.files = parse_files(remainder)
        except ParseError:
            if not answer.edits:
                raise ParseError(
                    "found no edit blocks (path line, <<<<<<< SEARCH, =======, >>>>>>> REPLACE) and no "
                    '<file path="..."> blocks in the answer'
                ) from None
            raise
    return answer


def _path_before(previous: list[str]) -> str:
    """The path on the last non-blank line before a block (a fence opener naming only a language is skipped);
    the lines used are removed from `previous`."""
    for back in range(len(previous) - 1, max(len(previous) - 4, -1), -1):
        line = previous[back].strip()
        fence = _FENCE_RE.match(line)
        candidate = (line[fence.end():] if fence else line).strip().strip(_PATH_DECOR)
        if fence:  # ```html, or ```html index.html
            candidate = next((t for t in reversed(candidate.split()) if re.search(r"[./]", t)), "")
        if not candidate:
            continue  # a blank line, or a fence opener naming only a language
        if " " in candidate:
            return ""
        del previous[back:]
        return candidate
    return ""


def _collect(lines: list[str], start: int, end: re.Pattern[str], marker: str) -> tuple[str, int]:
    """The lines from `start` up to the `end` marker, each with its newline; and the index after the marker."""
    for i in range(start, len(lines)):
        if end.match(lines[i]):
            return "".join(line + "\n" for line in lines[start:i]), i + 1
    raise ParseError(f"an edit block is missing its {marker} line (was the answer cut off?)")


def apply_answer(files: Mapping[str, str], answer: Answer) -> Applied:
    """Apply every block in order, each against the result of the ones before; then the whole files."""
    current = dict(files)
    changed: set[str] = set()
    failures: list[Failure] = []
    for block in answer.edits:
        failure = apply_block(current, block)
        if failure is None:
            changed.add(block.path)
        else:
            failures.append(failure)
    for path, content in answer.files.items():
        current[path] = content
        changed.add(path)
    return Applied(current, frozenset(changed), tuple(failures))


def apply_block(files: dict[str, str], block: EditBlock) -> Failure | None:
    """Apply one block to `files` in place; a Failure (nothing changed) when it does not match exactly once."""
    text = files.get(block.path)
    if text is None:
        if block.search.strip():
            known = ", ".join(sorted(files)) or "none"
            return Failure(block, f"targets a file that does not exist (files: {known}); write a new file as a "
                                  f'whole <file path="{block.path}"> block')
        files[block.path] = block.replace
        return None
    if not block.search:
        return Failure(block, "is empty; copy the exact lines to replace from the file")
    count = text.count(block.search)
    if count == 1:
        files[block.path] = text.replace(block.search, block.replace, 1)
        return None
    if count == 0:
        return Failure(block, "was not found in the file", _near(text, block.search))
    lines = [text.count("\n", 0, m.start()) + 1 for m in re.finditer(re.escape(block.search), text)]
    return Failure(block, f"matches {count} times (at lines {', '.join(map(str, lines))}); include more lines "
                          "so that it matches exactly once")


def _near(text: str, search: str) -> str:
    """The file's lines around the place most like the search text (for the model to copy from, never applied)."""
    lines = text.split("\n")
    wanted = [line.strip() for line in search.split("\n") if line.strip()]
    if not wanted:
        return ""
    best, score = 0, 0.0
    stripped = [line.strip() for line in lines]
    target = "\n".join(wanted)
    for i in range(len(lines)):
        matcher = difflib.SequenceMatcher(None, "\n".join(stripped[i:i + len(wanted)]), target, autojunk=False)
        if matcher.real_quick_ratio() > score and matcher.quick_ratio() > score and matcher.ratio() > score:
            best, score = i, matcher.ratio()
    start = max(0, best - _CONTEXT_LINES)
    end = min(len(lines), best + len(wanted) + _CONTEXT_LINES)
    return "\n".join(lines[start:end])
