"""Search/replace edit blocks: parse them out of a model's answer and apply them. Pure.

The format (explained to the model in `prompts/edit.md`), one block per change, the file's path alone on the line
before it:

    index.html
    <<<<<<< SEARCH
    <h1>Old</h1>
    =======
    <h1>New</h1>
    >>>>>>> REPLACE

Parsing takes what models really write (issue 15; aider's editblock coder handles the same): reasoning before the
blocks (a `<think>` block or an orphan `</think>` drops everything it holds); the path on the line before the block,
or before a fence around it, or in that fence's info string, or marked up in a sentence (``In `app.js`, change
this:``); a block with no path after another is for the same file. Each block is parsed alone: one with a missing
marker is a named failure (`Answer.malformed`) and the blocks around it still count. Whole files come as `<file>`
blocks or as fences that name their path; a fenced file for a path the answer also edits with blocks is taken for
commentary (a snippet), not for the new file.

Applying (`action.matching` holds the rules): exactly one exact match first; only when there is none, one match
ignoring indentation, then one with `...` elisions; a block whose REPLACE text is already there and whose SEARCH text
is not is already applied (a success that changes nothing). A path that matches no file but differs only in case or
directory from exactly one file is that file; a block with no usable path applies to the one file whose text holds
its SEARCH text exactly once. Each of these is noted (`Applied.notes`). A block that does not apply is a `Failure`
with the reason and the lines of the file most like its SEARCH text, and the other blocks still apply. An empty
SEARCH creates a file that does not exist yet.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from action.markdown import FENCE_OPEN_RE, info_path, label_path, sentence_path
from action.matching import ALREADY_APPLIED, Missed, nearest, replace_once
from action.parse import SEARCH_MARKER, ParseError, files_in, named_files
from action.reasoning import strip_reasoning

_SEARCH_RE = re.compile(rf"^{SEARCH_MARKER}$")
_DIVIDER_RE = re.compile(r"^ {0,3}={5,9}\s*$")
_REPLACE_RE = re.compile(r"^ {0,3}>{5,9} ?REPLACE\s*$")
_HEADER_LINES = 3  # non-blank lines before a block that may name its file (path, fence, sentence)


@dataclass(frozen=True)
class EditBlock:
    path: str  # "" when the answer named none
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
    reason: str  # "was not found in the file", "matches 3 times ...", "has no ======= line ...", ...
    context: str = ""  # the current lines of the file most like the SEARCH text (for the model to copy from)
    line: int = 0  # the line number where `context` starts (0: no context)

    @property
    def message(self) -> str:
        first = self.block.first_line
        start = f' beginning "{first[:80]}"' if first else ""
        return f"the SEARCH text{start} {self.reason}"

    def __str__(self) -> str:
        return f"{self.block.path or '(no path)'}: {self.message}"


@dataclass
class Answer:
    """What an edit-round answer asks for: edit blocks in order, whole files (new or replaced), the blocks that were
    malformed (reported, never applied) and notes on how the answer was read."""

    edits: list[EditBlock] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    malformed: list[Failure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Applied:
    files: dict[str, str]  # every file after the edits that applied
    changed: frozenset[str]  # paths an applied block changed or a whole file targeted
    failures: tuple[Failure, ...]  # malformed blocks first, then blocks that did not apply, in answer order
    notes: tuple[str, ...] = ()  # relaxed matches, already-applied blocks, paths taken as another file


def parse_answer(text: str) -> Answer:
    """Edit blocks and whole files; ParseError when the answer holds nothing usable (or a `<file>` block is cut
    off). An answer of whole files only is read like a first round's."""
    text = strip_reasoning(text.replace("\r\n", "\n"))
    lines = text.split("\n")
    answer, used = _blocks(lines)
    if not answer.edits and not answer.malformed:
        try:
            return Answer(files=files_in(text))
        except ParseError:
            raise ParseError(
                "found no edit blocks (path line, <<<<<<< SEARCH, =======, >>>>>>> REPLACE) and no "
                '<file path="..."> blocks in the answer'
            ) from None
    remainder = "\n".join(line for line, gone in zip(lines, used, strict=True) if not gone)
    edited = {block.path for block in answer.edits}
    for path, (content, tagged) in named_files(remainder).items():
        if tagged or path not in edited:
            answer.files[path] = content
        else:
            answer.notes.append(f"{path}: a fence named after this file was taken for commentary, not for the whole "
                                "file, since edit blocks in the same answer change it")
    if not answer.edits and not answer.files:
        raise ParseError("; ".join(str(failure) for failure in answer.malformed))
    return answer


def _blocks(lines: list[str]) -> tuple[Answer, list[bool]]:
    """The blocks, each parsed alone, and which lines they used (their header, markers and any fence around them)."""
    answer = Answer()
    used = [False] * len(lines)
    fence = ""  # the fence around the blocks, waiting for its closing line
    i = 0
    while i < len(lines):
        if fence and (opener := FENCE_OPEN_RE.match(lines[i])) is not None:
            if not opener.group("info").strip():  # the closing line of the fence around the blocks
                used[i], fence, i = True, "", i + 1
                continue
            fence = ""  # a new fence opens: the one around the blocks was never closed
        if not _SEARCH_RE.match(lines[i]):
            i += 1
            continue
        head, path, opened = _header(lines, i, used)
        path = path or (answer.edits[-1].path if answer.edits else "")
        search, replacement, end, problem = _body(lines, i + 1, used)
        used[head:end] = [True] * (end - head)
        block = EditBlock(path, search, replacement)
        if problem:
            answer.malformed.append(Failure(block, problem))
        else:
            answer.edits.append(block)
        fence = opened or fence
        i = end
    return answer, used


def _header(lines: list[str], marker: int, used: list[bool]) -> tuple[int, str, str]:
    """(first header line, path, fence that holds the block) for the block whose SEARCH marker is at `marker`: up to
    three non-blank lines back, through fence lines, to a path line or a sentence naming one; a fence opened just
    before that line is the header's too (```` ```html ````, `index.html`, `<<<<<<< SEARCH`), and so is the one it
    closes in DeepSeek's shape (```` ``` ````, `index.html`, ```` ``` ````, ```` ```html ````, `<<<<<<< SEARCH`).
    The fence that holds the block is the one nearest to the marker that opens."""
    head, opened, info = marker, "", ""
    for k in _lines_before(lines, marker, used):
        if (fence := FENCE_OPEN_RE.match(lines[k])) is not None:
            head, info = k, info or fence.group("info").strip()
            opened = opened or (fence.group("fence") if _opens(lines, k, used) else "")
            if path := info_path(fence.group("info").strip()):
                return head, path, opened
            continue
        path = label_path(lines[k]) or sentence_path(lines[k], info)
        if not path:
            break
        above = _lines_before(lines, k, used)[:1]
        fence = FENCE_OPEN_RE.match(lines[above[0]]) if above else None
        if fence and not info_path(fence.group("info").strip()) and _opens(lines, above[0], used):
            return above[0], path, opened or fence.group("fence")
        return k, path, opened
    return head, "", opened


def _lines_before(lines: list[str], index: int, used: list[bool]) -> list[int]:
    """The indices of up to three non-blank lines before `index`, nearest first, stopping at a line a block used."""
    found: list[int] = []
    for k in range(index - 1, -1, -1):
        if used[k] or len(found) == _HEADER_LINES:
            break
        if lines[k].strip():
            found.append(k)
    return found


def _opens(lines: list[str], index: int, used: list[bool]) -> bool:
    """The fence line at `index` opens a fence (an even number of fence lines no block used comes before it)."""
    return sum(1 for k in range(index) if not used[k] and FENCE_OPEN_RE.match(lines[k])) % 2 == 0


def _body(lines: list[str], start: int, used: list[bool]) -> tuple[str, str, int, str]:
    """(search, replace, index after the block, problem) from the line after `<<<<<<< SEARCH`; the problem is ""
    for a well-formed block, else why it cannot be used. A block cut short by the next `<<<<<<< SEARCH` ends
    before that block's header."""
    divider = end = None
    for i in range(start, len(lines)):
        if divider is None and _DIVIDER_RE.match(lines[i]):
            divider = i
        elif _REPLACE_RE.match(lines[i]):
            end = i
            break
        elif _SEARCH_RE.match(lines[i]):
            end = _header(lines, i, used)[0]
            break
    stop = len(lines) if end is None else max(end, divider + 1 if divider is not None else start)
    search = _text(lines[start:divider if divider is not None else stop])
    replacement = _text(lines[divider + 1:stop]) if divider is not None else ""
    if end is None:
        marker = ">>>>>>> REPLACE" if divider is not None else "======="
        return search, replacement, stop, f"is cut off before its {marker} line (the answer ended there)"
    if not _REPLACE_RE.match(lines[end]):
        missing = ">>>>>>> REPLACE" if divider is not None else "======= or >>>>>>> REPLACE"
        return search, replacement, stop, (f"has no {missing} line before the next <<<<<<< SEARCH, so it was not "
                                           "applied; send it again whole")
    if divider is None:
        return search, "", end + 1, ("has no ======= line between it and >>>>>>> REPLACE, so it was not applied; "
                                     "send it again with all three markers")
    return search, replacement, end + 1, ""


def _text(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


def resolve_path(path: str, known: Mapping[str, str]) -> str | None:
    """The known file a block's path means: itself, else the one file it matches ignoring case, else the one file
    with its name in any directory (aider's find_filename); None when there is no such single file."""
    if path in known:
        return path
    wanted = path.replace("\\", "/").strip()
    while wanted.startswith(("./", "/")):
        wanted = wanted[1:] if wanted.startswith("/") else wanted[2:]
    if not wanted:
        return None
    for same in (lambda p: p.lower() == wanted.lower(),
                 lambda p: p.rsplit("/", 1)[-1].lower() == wanted.rsplit("/", 1)[-1].lower()):
        found = [p for p in known if same(p)]
        if len(found) == 1:
            return found[0]
    return None


def apply_answer(files: Mapping[str, str], answer: Answer) -> Applied:
    """Apply every block in order, each against the result of the ones before; then the whole files."""
    current = dict(files)
    changed: set[str] = set()
    failures = list(answer.malformed)
    notes = list(answer.notes)
    for block in answer.edits:
        outcome = _apply(current, block)
        if outcome.failure is not None:
            failures.append(outcome.failure)
        elif outcome.changed:
            changed.add(outcome.path)
        notes += outcome.notes
    for path, content in answer.files.items():
        current[path] = content
        changed.add(path)
    return Applied(current, frozenset(changed), tuple(failures), tuple(notes))


def apply_block(files: dict[str, str], block: EditBlock) -> Failure | None:
    """Apply one block to `files` in place; a Failure (nothing changed) when it does not apply."""
    return _apply(files, block).failure


@dataclass(frozen=True)
class _Outcome:
    path: str
    failure: Failure | None = None
    changed: bool = False
    notes: tuple[str, ...] = ()


def _apply(files: dict[str, str], block: EditBlock) -> _Outcome:
    if not block.search.strip():
        if not block.path:
            return _Outcome("", Failure(block, "is empty and the block names no file"))
        if block.path in files:
            return _Outcome(block.path, Failure(block, "is empty; copy the exact lines to replace from the file"))
        files[block.path] = block.replace
        return _Outcome(block.path, changed=True)
    path = resolve_path(block.path, files)
    notes: list[str] = []
    if path is None:
        holders = [p for p, text in files.items() if text.count(block.search) == 1]
        if len(holders) != 1:
            return _Outcome(block.path, Failure(block, _no_file(block, files)))
        path = holders[0]
        notes.append(f"{block.path or '(no path)'}: the block beginning \"{block.first_line[:80]}\" was applied to "
                     f"{path}, the one file holding its SEARCH text")
    elif path != block.path:
        notes.append(f"{block.path}: taken as {path}, the one existing file of that name")
    block = replace(block, path=path)
    done = replace_once(files[path], block.search, block.replace)
    if isinstance(done, Missed):
        line, context = (0, "") if done.ambiguous else nearest(files[path], block.search)
        return _Outcome(path, Failure(block, done.reason, context, line))
    if done.how:
        notes.append(f"{path}: the block beginning \"{block.first_line[:80]}\" "
                     + ("is already applied (its REPLACE text is in the file and its SEARCH text is not); nothing "
                        "changed" if done.how == ALREADY_APPLIED else f"was applied {done.how}"))
    files[path] = done.text
    return _Outcome(path, changed=done.how != ALREADY_APPLIED, notes=tuple(notes))


def _no_file(block: EditBlock, files: Mapping[str, str]) -> str:
    known = ", ".join(sorted(files)) or "none"
    if not block.path:
        return (f"has no file path on the line before <<<<<<< SEARCH, and no single file holds it (files: {known}); "
                "put the file's path alone on the line before each block")
    return (f"targets a file that does not exist (files: {known}); write a new file as a whole "
            f'<file path="{block.path}"> block')
