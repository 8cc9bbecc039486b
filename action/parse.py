"""Turn a model's answer into whole files, accepting the shapes models actually produce. Pure.

Shapes, tried in this order (the first that yields files wins):
1. `<file path="...">...</file>` blocks (what the system prompt asks for; `name=` is accepted for `path=`).
2. A JSON object of files: `{"files": {path: text}}`, `{"files": [{"path", "content"}]}` or `{path: text}` (every
   key a path with an extension or a directory), bare or inside one fence that names no path.
3. Fenced blocks that name their path, in the info string or on the line before the fence (`action.markdown` lists
   the labels and sentences understood). If no fence names a path, a single HTML fence is taken as `index.html`.
4. One bare HTML document (from `<!doctype html>` or `<html>` to the last `</html>`), taken as `index.html`.
Reasoning is never the answer (`action.reasoning`): a `<think>` block, or everything before an orphan `</think>`,
is dropped first, so a draft written while thinking never becomes a file. Prose around the files is ignored.

`</file>` inside a file: a block ends at the last `</file>` before the next `<file path=` opener (or the end of the
answer), so file content may contain a literal `</file>` (in a string, a regex, a code sample) as long as no
`<file path="...">` opener follows it inside the same file. A block without any closing `</file>` is an error, since
it usually means a truncated answer. When a whole block's content is wrapped in one ``` fence, the fence is removed.
When a path occurs twice, the later block wins (models restate a file to correct it).
"""

from __future__ import annotations

import json
import re

from action.markdown import (
    FENCE_OPEN_RE,
    PATH_RE,
    fences,
    info_path,
    is_html_language,
    label_path,
    sentence_path,
)
from action.reasoning import strip_reasoning

_FILE_OPEN_RE = re.compile(r"""<file\s+(?:path|name)\s*=\s*(["'])(.*?)\1\s*>""", re.IGNORECASE)
_FILE_CLOSE = "</file>"
SEARCH_MARKER = r" {0,3}<{5,9} ?SEARCH\s*"  # the line that opens an edit block (action.edits)
_EDIT_MARKER_RE = re.compile(rf"^{SEARCH_MARKER}$", re.MULTILINE)
_HTML_START_RE = re.compile(r"<!doctype\s+html|<html[\s>]", re.IGNORECASE)
_HTML_END_RE = re.compile(r"</html\s*>", re.IGNORECASE)


class ParseError(ValueError):
    """The answer holds no files in any accepted shape, or a block is malformed; the message says which."""


def parse_files(text: str) -> dict[str, str]:
    """Files named in a model's answer; raise ParseError when there are none."""
    return files_in(strip_reasoning(text.replace("\r\n", "\n")))


def files_in(text: str) -> dict[str, str]:
    """`parse_files` for an answer whose reasoning is already dropped (once is all: dropping again could cut a file
    at a closing tag it holds)."""
    for finder in (_tagged_files, _json_files, _fenced_files, _bare_html):
        files = finder(text)
        if files:
            return files
    preview = " ".join(text.split())[:120]
    raise ParseError(
        'found no files: expected <file path="...">...</file> blocks (or fenced blocks naming their path, '
        f"a JSON object of files, or one HTML document); the answer begins: {preview!r}"
    )


def named_files(text: str) -> dict[str, tuple[str, bool]]:
    """path -> (content, tagged) for the files an answer names explicitly: `<file>` blocks (tagged) and fences that
    name their path (a fence inside a `<file>` block is that file's content, not a file). No guessing: no JSON, no
    unnamed HTML. For answers that mix files with other things, such as edit blocks."""
    found = {path: (content, False) for path, content in named_fences(_without_tags(text)).items()}
    found.update({path: (content, True) for path, content in _tagged_files(text).items()})
    return found


def named_fences(text: str) -> dict[str, str]:
    """Fences that name their path, in the info string, on a label line or in a sentence before the fence; fences
    holding edit blocks are not files."""
    files: dict[str, str] = {}
    for fence in fences(text):
        if _EDIT_MARKER_RE.search(fence.content):
            continue
        if path := info_path(fence.info) or label_path(fence.label):
            files[path] = fence.content  # a later labelled fence restates the file
        elif (path := sentence_path(fence.label, fence.info)) and path not in files:
            files[path] = fence.content
    return files


def _tagged_files(text: str) -> dict[str, str]:
    return {path: content for path, content, _ in _tags(text)}


def _tags(text: str) -> list[tuple[str, str, tuple[int, int]]]:
    """(path, content, span) of each `<file>` block."""
    openers = list(_FILE_OPEN_RE.finditer(text))
    blocks: list[tuple[str, str, tuple[int, int]]] = []
    for i, opener in enumerate(openers):
        path = opener.group(2).strip()
        end = openers[i + 1].start() if i + 1 < len(openers) else len(text)
        segment = text[opener.end():end]
        close = segment.rfind(_FILE_CLOSE)
        if close < 0:
            raise ParseError(f'the <file path="{path}"> block has no closing </file> (was the answer cut off?)')
        if not path:
            raise ParseError("a <file> block has an empty path attribute")
        span = (opener.start(), opener.end() + close + len(_FILE_CLOSE))
        blocks.append((path, _unwrap_fence(_trim_newlines(segment[:close])), span))
    return blocks


def _without_tags(text: str) -> str:
    for _, _, (start, end) in reversed(_tags(text)):
        text = text[:start] + text[end:]
    return text


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
        opener = FENCE_OPEN_RE.match(first)
        if opener and last == opener.group("fence"):
            return "\n".join(lines[1:-1]) + "\n"
    return content


def _json_files(text: str) -> dict[str, str]:
    candidate = text.strip()
    found = fences(text)
    if len(found) == 1:
        if info_path(found[0].info):
            return {}  # one file that happens to be JSON, such as ```json data.json
        candidate = found[0].content.strip()
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
    if not wrapped and not all(PATH_RE.match(str(p)) for p, _ in pairs):
        return {}  # a JSON object, but not one keyed by file paths
    return {str(p): str(c) for p, c in pairs}


def _fenced_files(text: str) -> dict[str, str]:
    files = named_fences(text)
    if files:
        return files
    html = [f.content for f in fences(text) if is_html_language(f.info) or _HTML_START_RE.search(f.content[:200])]
    return {"index.html": html[0]} if len(html) == 1 else {}


def _bare_html(text: str) -> dict[str, str]:
    start = _HTML_START_RE.search(text)
    ends = list(_HTML_END_RE.finditer(text))
    if start is None or not ends or ends[-1].end() <= start.start():
        return {}
    return {"index.html": text[start.start() : ends[-1].end()] + "\n"}
