"""Where a SEARCH text sits in a file, and the file after its REPLACE text goes there. Pure.

The rules, in order; each later one is tried only when the ones before found nothing, and each must find exactly
one place (a relaxed match never applies to two places, and several exact matches are never relaxed away):
1. exact: the SEARCH text occurs once, character for character, from the start of a line;
2. indentation drifted: the lines match once their leading whitespace is ignored, every matched line is off by the
   same prefix, and the REPLACE lines get that prefix (aider's `replace_part_with_missing_leading_whitespace`);
3. elisions: SEARCH and REPLACE both skip unchanged lines with a `...` line in the same places; each piece between
   them matches once (by rule 1 or 2), in order, and is replaced by its REPLACE piece (aider's `try_dotdotdots`);
4. already applied: the SEARCH text is nowhere and the REPLACE text already is (the model sent a block twice, or
   restated one the earlier round applied), or the one match of a block that only adds lines already sits inside
   its REPLACE text (applying it again would add them twice): nothing changes, and that is a success.
When nothing applies, `nearest` finds the lines of the file most like the SEARCH text, for the model to copy from.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

_ELISION_RE = re.compile(r"^[ \t]*\.\.\.[ \t]*$")
_CONTEXT = 3  # lines shown around the nearest region
_MAX_LINES = 40
_MAX_CHARS = 3000
_MIN_LIKENESS = 0.6  # a file line less like a SEARCH line than this does not resemble it
_FUZZY_LINES = 4  # SEARCH lines compared with every file line when none occurs exactly
ALREADY_APPLIED = "already applied"


@dataclass(frozen=True)
class Replaced:
    text: str  # the whole file after the replacement (unchanged when already applied)
    how: str  # "" for an exact match, else how it was found ("ignoring indentation", ...)


@dataclass(frozen=True)
class Missed:
    reason: str  # "was not found in the file", "matches 2 times (at lines 4, 5); ...", ...
    ambiguous: bool = False  # it matched exactly, in several places (so no place is "nearest")


@dataclass(frozen=True)
class _Hit:
    start: int  # offset of the first matched character
    stop: int  # offset after the last one
    prefix: str | None = None  # None: matched exactly; else the whitespace the file adds to each outdented line
    width: int = 0  # how far the SEARCH and REPLACE lines were outdented before matching


def replace_once(text: str, search: str, replace: str) -> Replaced | Missed:
    """`text` with the one place `search` matches replaced by `replace`, or why not."""
    hits = _exact(text, search)
    if len(hits) > 1:
        return Missed(f"matches {len(hits)} times (at lines {_line_numbers(text, hits)}); include more lines so that "
                      "it matches exactly once", ambiguous=True)
    relaxed = not hits
    hits = hits or _relaxed(text, search, _indent(_lines(search) + _lines(replace)))
    if len(hits) == 1 and _inside_replace(text, hits[0], replace):
        return Replaced(text, ALREADY_APPLIED)
    if len(hits) == 1:
        return Replaced(_fill(text, hits[0], replace), "ignoring indentation" if relaxed else "")
    if hits:
        return Missed(f"was not found exactly, and matches {len(hits)} places when indentation is ignored (at lines "
                      f"{_line_numbers(text, hits)}); copy the lines exactly, with more of them")
    if _has_elision(search):
        return _elided(text, search, replace)
    if _already_there(text, replace):
        return Replaced(text, ALREADY_APPLIED)
    return Missed("was not found in the file")


def nearest(text: str, search: str) -> tuple[int, str]:
    """(first line number, excerpt) of the file around the lines most like `search`, bounded in size; (0, "") when
    nothing resembles it. Each SEARCH line that occurs in the file (whitespace ignored) votes for where the SEARCH
    text would start, a rare line more than a common one such as `}`; when none occurs, the few first lines vote
    for the lines most like them (difflib), so drifted or mistyped text still points at the right place."""
    wanted = [_normal(line) for line in search.splitlines() if line.strip()]
    lines = text.splitlines()
    filled = [i for i, line in enumerate(lines) if line.strip()]  # blank lines neither vote nor count
    if not wanted or not filled:
        return 0, ""
    keys = [_normal(lines[i]) for i in filled]
    votes = _exact_votes(keys, wanted) or _fuzzy_votes(keys, wanted[:_FUZZY_LINES])
    if not votes:
        return 0, ""
    offset = max(votes, key=lambda o: (votes[o], -o))
    first = min(max(offset, 0), len(filled) - 1)
    last = min(max(offset + len(wanted) - 1, first), len(filled) - 1)
    start = max(0, filled[first] - _CONTEXT)
    stop = min(len(lines), filled[last] + 1 + _CONTEXT, start + _MAX_LINES)
    excerpt: list[str] = []
    for line in lines[start:stop]:
        if sum(len(kept) + 1 for kept in excerpt) + len(line) > _MAX_CHARS:
            break
        excerpt.append(line)
    return start + 1, "\n".join(excerpt)


def _normal(line: str) -> str:
    return " ".join(line.split())


def _exact_votes(keys: list[str], wanted: list[str]) -> dict[int, float]:
    where: dict[str, list[int]] = {}
    for k, key in enumerate(keys):
        where.setdefault(key, []).append(k)
    votes: dict[int, float] = {}
    for j, line in enumerate(wanted):
        for k in where.get(line, []):
            votes[k - j] = votes.get(k - j, 0.0) + 1 / len(where[line])
    return votes


def _fuzzy_votes(keys: list[str], wanted: list[str]) -> dict[int, float]:
    votes: dict[int, float] = {}
    matcher = difflib.SequenceMatcher(None, autojunk=False)
    for j, line in enumerate(wanted):
        matcher.set_seq2(line)
        best, score = -1, _MIN_LIKENESS
        for k, key in enumerate(keys):
            matcher.set_seq1(key)
            if matcher.real_quick_ratio() > score and matcher.quick_ratio() > score and matcher.ratio() > score:
                best, score = k, matcher.ratio()
        if best >= 0:
            votes[best - j] = votes.get(best - j, 0.0) + score
    return votes


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _line_numbers(text: str, hits: list[_Hit]) -> str:
    return ", ".join(str(text.count("\n", 0, hit.start) + 1) for hit in hits)


def _exact(text: str, search: str) -> list[_Hit]:
    """Where the SEARCH text occurs character for character, starting at the start of a line (so an un-indented
    line is no exact match for the end of an indented one)."""
    if not search:
        return []
    return [_Hit(m.start(), m.end()) for m in re.finditer("^" + re.escape(search), text, re.MULTILINE)]


def _relaxed(text: str, search: str, width: int) -> list[_Hit]:
    """Every place the SEARCH lines, outdented by `width` (the indentation SEARCH and REPLACE share), match with
    only their leading whitespace different, every line by the same prefix."""
    part = _lines(search)
    if not any(line.strip() for line in part):
        return []
    part = _outdented(part, width)
    lines = _lines(text)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    hits = []
    for first in range(len(lines) - len(part) + 1):
        prefix = _shared_prefix(lines[first:first + len(part)], part)
        if prefix is not None:
            hits.append(_Hit(offsets[first], offsets[first + len(part)], prefix, width))
    return hits


def _shared_prefix(window: list[str], part: list[str]) -> str | None:
    """The leading whitespace every non-blank window line has beyond its part line, if the lines agree otherwise."""
    prefixes = set()
    for have, want in zip(window, part, strict=True):
        if have.strip() != want.strip():
            return None
        if not want.strip():
            continue
        have_lead = have[: len(have) - len(have.lstrip())]
        want_lead = want[: len(want) - len(want.lstrip())]
        if not have_lead.endswith(want_lead):
            return None
        prefixes.add(have_lead[: len(have_lead) - len(want_lead)])
    return prefixes.pop() if len(prefixes) == 1 else None


def _indent(lines: list[str]) -> int:
    widths = [len(line) - len(line.lstrip()) for line in lines if line.strip()]
    return min(widths, default=0)


def _outdented(lines: list[str], width: int) -> list[str]:
    return [line[width:] if line.strip() else line for line in lines]


def _fill(text: str, hit: _Hit, replace: str) -> str:
    return text[:hit.start] + _fitted(text, hit, replace) + text[hit.stop:]


def _fitted(text: str, hit: _Hit, replace: str) -> str:
    """What goes in the hit's place: the REPLACE text verbatim for an exact hit; for a relaxed one, its lines
    re-indented by the hit's prefix as SEARCH was (their relative indentation stays), ending as the replaced lines
    ended."""
    if hit.prefix is None:
        return replace
    lines = _outdented(_lines(replace), hit.width)
    new = "".join(hit.prefix + line if line.strip() else line for line in lines)
    return new if text[:hit.stop].endswith("\n") else new.removesuffix("\n")


def _has_elision(text: str) -> bool:
    return any(_ELISION_RE.match(line) for line in text.splitlines())


def _pieces(text: str) -> list[str]:
    pieces, current = [], []
    for line in _lines(text):
        if _ELISION_RE.match(line):
            pieces.append("".join(current))
            current = []
        else:
            current.append(line)
    return [*pieces, "".join(current)]


def _elided(text: str, search: str, replace: str) -> Replaced | Missed:
    """Each piece between `...` lines replaced in turn, each matching once and after the piece before it."""
    searches, replaces = _pieces(search), _pieces(replace)
    if len(searches) != len(replaces):
        return Missed("was not found in the file, and its `...` lines are not in the same places in SEARCH and "
                      "REPLACE, so the elided lines cannot be kept")
    after = 0  # where the previous piece's replacement ends
    for number, (old, new) in enumerate(zip(searches, replaces, strict=True), 1):
        if not old.strip():
            if new.strip():
                return Missed(f"was not found with its `...` elisions: REPLACE piece {number} has no SEARCH piece to "
                              "take its place")
            continue
        hits = _exact(text, old) or _relaxed(text, old, _indent(_lines(old) + _lines(new)))
        if len(hits) != 1:
            found = "was not found" if not hits else f"matches {len(hits)} places"
            return Missed(f"was not found with its `...` elisions: SEARCH piece {number} {found}")
        if hits[0].start < after:
            return Missed(f"was not found with its `...` elisions: SEARCH piece {number} comes before the piece "
                          "above it")
        filled = _fill(text, hits[0], new)
        after = hits[0].stop + len(filled) - len(text)
        text = filled
    return Replaced(text, "with `...` elisions")


def _inside_replace(text: str, hit: _Hit, replace: str) -> bool:
    """The matched SEARCH text already sits inside the REPLACE text (a block that adds lines, sent again): applying
    it would add them twice."""
    new = _fitted(text, hit, replace)
    if len(new) <= hit.stop - hit.start or not re.search(r"\w", new):
        return False
    return any(m.start() <= hit.start and hit.stop <= m.end() for m in re.finditer(re.escape(new), text))


def _already_there(text: str, replace: str) -> bool:
    """The REPLACE text is in the file, and is more than punctuation that would match anywhere."""
    if not re.search(r"\w", replace):
        return False
    return replace in text or bool(_relaxed(text, replace, _indent(_lines(replace))))
