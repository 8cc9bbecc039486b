"""Reasoning a model writes before its answer is never the answer: a draft inside it must not become a file. Pure.

Models wrap reasoning in `<think>`, `<thinking>` or `<reasoning>` tags. Some providers drop the opening tag and leave
only the closing one, because the chat template opens `<think>` inside the prompt (DeepSeek R1 and its distills:
open-webui/open-webui#9808, deepseek-ai/DeepSeek-R1#352); aider's `remove_reasoning_content` therefore drops
everything before a closing tag that has no opener, and so do we. A tag counts only where models write it: an
opener at the start of a line, an orphan closer at the end of one (`...done.</think>`), so a file that merely
mentions the tags inside a string (`text.split("</think>")`) keeps its content, and a tag inside a `<file>` block
still open is that file's text. An opener whose closer never comes means the answer was cut off while
reasoning: everything after it is reasoning too.
"""

from __future__ import annotations

import re

_TAGS = "think|thinking|reasoning"
_PAIRED_RE = re.compile(rf"^[ \t]*<({_TAGS})>.*?</\1>[ \t]*\n?", re.DOTALL | re.IGNORECASE | re.MULTILINE)
_ORPHAN_CLOSE_RE = re.compile(rf"</(?:{_TAGS})>[ \t]*$", re.IGNORECASE | re.MULTILINE)
_UNCLOSED_OPEN_RE = re.compile(rf"^[ \t]*<(?:{_TAGS})>", re.IGNORECASE | re.MULTILINE)
_FILE_OPEN_RE = re.compile(r"<file\s+(?:path|name)\s*=", re.IGNORECASE)
_FILE_CLOSE_RE = re.compile(r"</file>", re.IGNORECASE)


def strip_reasoning(text: str) -> str:
    """The answer without its reasoning: paired blocks removed, everything before an orphan closing tag dropped, and
    everything after an opener that is never closed."""
    text = _PAIRED_RE.sub(lambda m: "" if _outside_files(text, m.start()) else m.group(0), text)
    for orphan in _ORPHAN_CLOSE_RE.finditer(text):
        if _outside_files(text, orphan.start()):
            text = text[orphan.end():].lstrip("\n")
            break
    for unclosed in _UNCLOSED_OPEN_RE.finditer(text):
        if _outside_files(text, unclosed.start()):
            return text[: unclosed.start()]
    return text


def _outside_files(text: str, position: int) -> bool:
    """No `<file>` block is open at `position` (a tag inside one is that file's text)."""
    before = text[:position]
    return len(_FILE_OPEN_RE.findall(before)) <= len(_FILE_CLOSE_RE.findall(before))
