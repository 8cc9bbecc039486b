"""The map of a published site for a later round: an outline of each file, and which files a change needs in full.

Pure. A later round sends the model every file it needs to see whole and an outline of the others (aider's repo
map: the lines that define things, the rest elided), so that a small change does not pay for the whole site.

An outline holds lines copied exactly from the file, in order, with a `...` line where lines are left out (the
elision `action/matching.py` accepts in a SEARCH text, so the model can edit what the outline shows):
- HTML: the title, headings, elements with an id, scripts, stylesheets, forms and tables;
- JavaScript: the top-level declarations' first lines; a top-level data literal (`const CONFIG = {...}`) whole
  when it is short, since data is what a small change edits most;
- CSS: the selector lines; Python: top-level `def`, `class` and assignments; YAML: top-level keys;
- anything else: its first lines.
An outline that would show every line of a file (a small stylesheet of one-line rules) shows none: the file is
named with its line count only, since the change does not need it and sending it whole is what an outline saves.

A file is sent in full (`needed_files`) when the change needs it: `index.html`; a file the brief or its checks
name; a file in which an element they name is used in lines its outline does not show. The others are shown as
outlines, and a repair sends one in full when the model tried to edit it (`action/coders/edit_blocks.py`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

ELISION = "..."
DATA_LITERAL_LINES = 40  # a top-level data literal up to this many lines is outlined whole
HEAD_LINES = 3  # lines an outline of an unknown kind of file shows

_HTML_RE = re.compile(r"<(?:title|h[1-6]|script|link|form|table|main|section|nav)\b|\bid\s*=", re.I)
_JS_DECL_RE = re.compile(
    r"^(?:export\s+)?(?:default\s+)?(?:async\s+)?(?:function\b|class\b|const\b|let\b|var\b)|^(?:document|window)\.")
_JS_DATA_RE = re.compile(r"^(?:export\s+)?(?:const|let|var)\s+[\w$]+\s*=\s*[\[{]\s*$")
_CSS_RE = re.compile(r"^[^\s@}][^{]*\{|^@")
_PY_RE = re.compile(r"^(?:async\s+def|def|class)\b|^[A-Za-z_]\w*\s*(?::[^=]+)?=")
_YAML_RE = re.compile(r"^[A-Za-z_][\w-]*\s*:")
# An element a brief or check names: `#total-sales`, getElementById("x"), id="x".
_ID_RES = (re.compile(r"(?<![\w&])#([A-Za-z][\w-]*)"), re.compile(r"getElementById\(\s*[\"'`]([^\"'`]+)"),
           re.compile(r"\bid\s*=\s*[\\]?[\"']([^\"'\\]+)"))


def outline(path: str, text: str) -> str:
    """The outline of one file: its defining lines, exactly as they are, with `...` where lines are left out."""
    lines = text.splitlines()
    return _render(lines, outlined_lines(path, lines))


def outlined_lines(path: str, lines: Sequence[str]) -> set[int]:
    """The indices of the lines an outline of `path` shows: none when that would be all of them."""
    shown = _defining_lines(path, lines)
    return set() if len(shown) >= len(lines) else shown


def _defining_lines(path: str, lines: Sequence[str]) -> set[int]:
    kind = path.rsplit(".", 1)[-1].lower() if "." in path else ""
    if kind in ("html", "htm"):
        return {i for i, line in enumerate(lines) if _HTML_RE.search(line)}
    if kind in ("js", "mjs", "cjs", "ts"):
        return _js_lines(lines)
    if kind == "css":
        return {i for i, line in enumerate(lines) if _CSS_RE.match(line)}
    if kind == "py":
        return {i for i, line in enumerate(lines) if _PY_RE.match(line)}
    if kind in ("yml", "yaml"):
        return {i for i, line in enumerate(lines) if _YAML_RE.match(line)}
    return set(range(min(HEAD_LINES, len(lines))))


def element_ids(texts: Iterable[str]) -> set[str]:
    """The ids of the elements that the texts (a brief, its checks) name."""
    return {m for text in texts for regex in _ID_RES for m in regex.findall(text)}


def needed_files(brief: str, checks: Sequence[object], published: Mapping[str, str]) -> set[str]:
    """The published files this change needs in full (see the module's docstring); the others go as outlines.

    A planner that knows better may add to this set: any file it names is sent whole."""
    texts = [brief, *(c if isinstance(c, str) else str(c) for c in checks)]
    ids = element_ids(texts)
    words = "\n".join(texts)
    needed = {"index.html"} & set(published)
    for path, text in published.items():
        name = path.rsplit("/", 1)[-1]
        if re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w-])", words):
            needed.add(path)
            continue
        lines = text.splitlines()
        shown = outlined_lines(path, lines)
        if any(_uses(line, ids) for i, line in enumerate(lines) if i not in shown):
            needed.add(path)
    return needed


def _uses(line: str, ids: set[str]) -> bool:
    return any(re.search(rf"(?<![\w-]){re.escape(i)}(?![\w-])", line) for i in ids)


def _js_lines(lines: Sequence[str]) -> set[int]:
    """Top-level declarations' first lines, and short top-level data literals whole."""
    shown: set[int] = set()
    i = 0
    while i < len(lines):
        line = lines[i]
        if _JS_DATA_RE.match(line):
            end = _literal_end(lines, i)
            if end is not None and end - i < DATA_LITERAL_LINES:
                shown.update(range(i, end + 1))
                i = end + 1
                continue
        if _JS_DECL_RE.match(line):
            shown.add(i)
        i += 1
    return shown


def _literal_end(lines: Sequence[str], start: int) -> int | None:
    """The line that closes the literal opened at the end of `lines[start]`: the next line at column 0 that starts
    with its closing bracket."""
    closing = "}" if lines[start].rstrip().endswith("{") else "]"
    for k in range(start + 1, len(lines)):
        if lines[k].startswith(closing):
            return k
        if lines[k] and not lines[k][0].isspace():
            return None
    return None


def _render(lines: Sequence[str], shown: set[int]) -> str:
    out: list[str] = []
    previous = -1
    for i in sorted(shown):
        if i != previous + 1:
            out.append(ELISION)
        out.append(lines[i])
        previous = i
    if previous != len(lines) - 1:
        out.append(ELISION)
    return "\n".join(out)
