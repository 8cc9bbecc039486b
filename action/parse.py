"""Turn a model's answer into files, accepting the shapes models actually produce.

Shapes, tried in this order (the first that yields files wins):
1. `<file path="...">...</file>` blocks (what the system prompt asks for; `name=` is accepted for `path=`).
2. A JSON object of files: `{"files": {path: text}}`, `{"files": [{"path", "content"}]}` or `{path: text}` (every
   key a path with an extension or a directory), bare or inside one fence that names no path.
3. Fenced blocks that name their path: in the info string (```html index.html, ```index.html, ```js title="app.js"),
   or on the line before the fence (`path: app.js`, `**index.html**`, `### index.html`, `` `style.css` ``, `app.js:`).
   If no fence names a path, a single HTML fence is taken as `index.html`.
4. One bare HTML document (from `<!doctype html>` or `<html>` to the last `</html>`), taken as `index.html`.
A reasoning preamble is ignored, and so is any `<think>`/`<thinking>`/`<reasoning>` block.

`</file>` inside a file: a block ends at the last `</file>` before the next `<file path=` opener (or the end of the
answer), so file content may contain a literal `</file>` (in a string, a regex, a code sample) as long as no
`<file path="...">` opener follows it inside the same file. A block without any closing `</file>` is an error, since
it usually means a truncated answer. When a whole block's content is wrapped in one ``` fence, the fence is removed.
When a path occurs twice, the later block wins (models restate a file to correct it).
"""

from __future__ import annotations

import json
import re

_THINK_RE = re.compile(r"<(think|thinking|reasoning)>.*?</\1>\s*", re.DOTALL | re.IGNORECASE)
_FILE_OPEN_RE = re.compile(r"""<file\s+(?:path|name)\s*=\s*(["'])(.*?)\1\s*>""", re.IGNORECASE)
_FILE_CLOSE = "</file>"
_FENCE_OPEN_RE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>[^\n`]*)$", re.MULTILINE)
_PATH_PATTERN = r"[\w.][\w.\-/]*\.[A-Za-z0-9]+|[\w.\-/]*/[\w.\-]+"
_PATH_RE = re.compile(rf"^(?:{_PATH_PATTERN})$")
_INFO_ATTR_RE = re.compile(r"""(?:title|file|filename|path)\s*=\s*["']?([^"'\s]+)""", re.IGNORECASE)
_LABEL_RE = re.compile(
    r"^\s*(?:#{1,6}\s*)?(?:[-*]\s*)?(?:(?:file(?:name)?|path)\s*:\s*)?[*_`\"']*"
    rf"(?P<path>{_PATH_PATTERN})"
    r"[*_`\"']*\s*:?\s*[*_]*\s*$",
    re.IGNORECASE,
)
_HTML_START_RE = re.compile(r"<!doctype\s+html|<html[\s>]", re.IGNORECASE)
_HTML_END_RE = re.compile(r"</html\s*>", re.IGNORECASE)
_HTML_LANGS = {"html", "htm", "xhtml"}


class ParseError(ValueError):
    """The answer holds no files in any accepted shape, or a block is malformed; the message says which."""


def parse_files(text: str) -> dict[str, str]:
    """Files named in a model's answer; raise ParseError when there are none."""
    text = _THINK_RE.sub("", text.replace("\r\n", "\n"))
    for finder in (_file_blocks, _json_files, _named_fences, _bare_html):
        files = finder(text)
        if files:
            return files
    preview = " ".join(text.split())[:120]
    raise ParseError(
        'found no files: expected <file path="...">...</file> blocks (or fenced blocks naming their path, '
        f"a JSON object of files, or one HTML document); the answer begins: {preview!r}"
    )


def _file_blocks(text: str) -> dict[str, str]:
    openers = list(_FILE_OPEN_RE.finditer(text))
    files: dict[str, str] = {}
    for i, opener in enumerate(openers):
        path = opener.group(2).strip()
        end = openers[i + 1].start() if i + 1 < len(openers) else len(text)
        segment = text[opener.end():end]
        close = segment.rfind(_FILE_CLOSE)
        if close < 0:
            raise ParseError(f'the <file path="{path}"> block has no closing </file> (was the answer cut off?)')
        if not path:
            raise ParseError("a <file> block has an empty path attribute")
        files[path] = _unwrap_fence(_trim_newlines(segment[:close]))
    return files


def _trim_newlines(content: str) -> str:
    """Drop the line break after the opening tag and the indentation/line break before the closing one."""
    if content.startswith("\n"):
        content = content[1:]
    stripped = content.rstrip(" \t")
    if stripped.endswith("\n"):
        return stripped
    return content


def _unwrap_fence(content: str) -> str:
    lines = content.strip("\n").split("\n")
    if len(lines) >= 2:
        first, last = lines[0].strip(), lines[-1].strip()
        opener = _FENCE_OPEN_RE.match(first)
        if opener and last == opener.group("fence"):
            return "\n".join(lines[1:-1]) + "\n"
    return content


def _json_files(text: str) -> dict[str, str]:
    candidate = text.strip()
    fences = list(_fences(text))
    if len(fences) == 1:
        info = fences[0][0]
        if _path_from_info(info):
            return {}  # one file that happens to be JSON, such as ```json data.json
        candidate = fences[0][2].strip()
    if not candidate.startswith("{"):
        return {}
    try:
        data = json.loads(candidate)
    except ValueError:
        return {}
    wrapped = isinstance(data, dict) and "files" in data
    if wrapped:
        data = data["files"]
    if isinstance(data, list):
        pairs = [(d.get("path"), d.get("content")) for d in data if isinstance(d, dict)]
    elif isinstance(data, dict):
        pairs = list(data.items())
    else:
        return {}
    if not pairs or not all(isinstance(p, str) and isinstance(c, str) for p, c in pairs):
        return {}
    if not wrapped and not all(_PATH_RE.match(str(p)) for p, _ in pairs):
        return {}  # a JSON object, but not one keyed by file paths
    return {str(p): str(c) for p, c in pairs}


def _fences(text: str) -> list[tuple[str, str, str, str]]:
    """(info, label line before the fence, content, raw fence) for each fenced block, CommonMark-style closing."""
    blocks: list[tuple[str, str, str, str]] = []
    pos = 0
    while (opener := _FENCE_OPEN_RE.search(text, pos)) is not None:
        fence = opener.group("fence")
        closer = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$", re.MULTILINE)
        close = closer.search(text, opener.end())
        if close is None:
            break
        before = text[: opener.start()].rstrip("\n").rsplit("\n", 1)[-1]
        content = text[opener.end() + 1 : close.start()]
        blocks.append((opener.group("info").strip(), before, content, fence))
        pos = close.end()
    return blocks


def _path_from_info(info: str) -> str | None:
    if (attr := _INFO_ATTR_RE.search(info)) is not None:
        return attr.group(1)
    for token in re.split(r"[\s:]+", info):
        token = token.strip("{}")
        if _PATH_RE.match(token) and token.lower() not in _HTML_LANGS:
            return token
    return None


def _named_fences(text: str) -> dict[str, str]:
    files: dict[str, str] = {}
    html_blocks: list[str] = []
    for info, before, content, _ in _fences(text):
        label = _LABEL_RE.match(before)
        path = _path_from_info(info) or (label.group("path") if label else None)
        if path:
            files[path] = content
        elif (info.split() or [""])[0].lower() in _HTML_LANGS or _HTML_START_RE.search(content[:200]):
            html_blocks.append(content)
    if not files and len(html_blocks) == 1:
        return {"index.html": html_blocks[0]}
    return files


def _bare_html(text: str) -> dict[str, str]:
    start = _HTML_START_RE.search(text)
    ends = list(_HTML_END_RE.finditer(text))
    if start is None or not ends or ends[-1].end() <= start.start():
        return {}
    return {"index.html": text[start.start() : ends[-1].end()] + "\n"}
