"""The Markdown around code in a model's answer: fenced blocks and the lines that name their file. Pure.

How models name the file a fence holds, all seen in real answers (issue 15):
- in the info string: ```` ```html index.html ````, ```` ```index.html ````, ```` ```js title="app.js" ````;
- on a label line before the fence: `index.html`, `path: app.js`, `**index.html**`, `1. **app.js**`,
  `### index.html`, `#### app.js (logic)`, `` `style.css`: ``;
- in a sentence ending in a colon, the path marked up as code, bold or quoted: ``Here is `app.js`:``,
  ``In `index.html`, change this part:``. A sentence is weaker evidence than a label, so there the path must be
  marked up and agree with the fence's language (```` ```javascript ```` after "the data in `data.csv`:" is a
  snippet, not data.csv), and a sentence never names a file a second time ("The parsing step looks like this in
  `app.js`:" before a snippet, after the whole `app.js`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PATH_PATTERN = r"[\w.][\w.\-/]*\.[A-Za-z0-9]+|[\w.\-/]*/[\w.\-]+"
PATH_RE = re.compile(rf"^(?:{PATH_PATTERN})$")
FENCE_OPEN_RE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>[^\n`]*)$", re.MULTILINE)
_INFO_ATTR_RE = re.compile(r"""(?:title|file|filename|path)\s*=\s*["']?([^"'\s]+)""", re.IGNORECASE)
_DESCRIPTION = r"(?:\s+\([^()]*\)|\s+[-–—]\s+[^`*]*)?"  # `app.js (logic)`, `app.js - the chart`
_LABEL_RE = re.compile(
    r"^\s*(?:#{1,6}\s*)?(?:(?:[-*+]|\d{1,3}[.)])\s*)?(?:(?:file(?:name)?|path)\s*:\s*)?[*_`\"']*"
    rf"(?P<path>{PATH_PATTERN})"
    rf"[*_`\"']*{_DESCRIPTION}\s*:?\s*[*_]*\s*$",
    re.IGNORECASE,
)
_MARKED_UP_RE = re.compile(r"`([^`\s]+)`|\*\*([^*\s]+)\*\*|\"([^\"\s]+)\"|'([^'\s]+)'")
_HTML_LANGS = {"html", "htm", "xhtml"}
_EXTENSIONS = {  # fence language -> the extensions a file in that language has
    "html": {"html", "htm", "xhtml"}, "css": {"css"}, "javascript": {"js", "mjs", "cjs"}, "js": {"js", "mjs", "cjs"},
    "typescript": {"ts"}, "ts": {"ts"}, "json": {"json", "webmanifest"}, "python": {"py"}, "py": {"py"},
    "yaml": {"yml", "yaml"}, "yml": {"yml", "yaml"}, "markdown": {"md", "markdown"}, "md": {"md", "markdown"},
    "csv": {"csv"}, "svg": {"svg"}, "xml": {"xml", "svg"}, "toml": {"toml"},
}


@dataclass(frozen=True)
class Fence:
    info: str  # the info string after the fence characters, stripped
    label: str  # the last non-blank line before the opener
    content: str
    start: int  # offset of the opener line
    end: int  # offset just after the closing line


def fences(text: str) -> list[Fence]:
    """Every fenced block, closed CommonMark-style (a fence of the same character, at least as long)."""
    blocks: list[Fence] = []
    pos = 0
    while (opener := FENCE_OPEN_RE.search(text, pos)) is not None:
        fence = opener.group("fence")
        closer = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$", re.MULTILINE)
        close = closer.search(text, opener.end())
        if close is None:
            break
        label = text[: opener.start()].rstrip("\n").rsplit("\n", 1)[-1]
        content = text[opener.end() + 1 : close.start()]
        blocks.append(Fence(opener.group("info").strip(), label, content, opener.start(), close.end()))
        pos = close.end()
    return blocks


def is_html_language(info: str) -> bool:
    return language(info) in _HTML_LANGS


def language(info: str) -> str:
    return (info.split() or [""])[0].lower()


def info_path(info: str) -> str | None:
    """The path an info string names (```` ```html index.html ````, ```` ```js title="app.js" ````), if any."""
    if (attr := _INFO_ATTR_RE.search(info)) is not None:
        return attr.group(1)
    for token in re.split(r"[\s:]+", info):
        token = token.strip("{}")
        if PATH_RE.match(token) and token.lower() not in _HTML_LANGS:
            return token
    return None


def label_path(line: str) -> str | None:
    """The path a label line before a fence (or an edit block) names."""
    label = _LABEL_RE.match(line)
    return label.group("path") if label else None


def sentence_path(line: str, info: str = "") -> str | None:
    """The path a sentence ending in a colon names, marked up and agreeing with the fence's language `info`."""
    sentence = line.strip().rstrip("*_ ")
    if not sentence.endswith(":"):
        return None
    for match in _MARKED_UP_RE.finditer(sentence):
        path = next(group for group in match.groups() if group is not None).strip(":")
        if PATH_RE.match(path) and _fits(path, info):
            return path
    return None


def _fits(path: str, info: str) -> bool:
    """A path's extension agrees with the fence's language (an unknown or missing language agrees with anything)."""
    wanted = _EXTENSIONS.get(language(info))
    return wanted is None or path.rsplit(".", 1)[-1].lower() in wanted
