"""Read the action's prompt the way a model would: the brief, its checks, attachments and existing files.

The contract (action/prompt.py): `<brief task=".." round="N">text</brief>`; `<checks>` with one check per line,
strings verbatim and objects (or multi-line strings) as compact JSON; `<attachment name=".." media-type="..">`
with text inline, self-closing for images and other binaries; from round 2 `<earlier-checks>` (same format) and the
published files as `<file path="..">` blocks, and the files the action did not send whole as
`<outline path=".." lines="N">` blocks (lines copied from the file, `...` for lines left out). The text read is every
user message in order: a repair request
repeats the brief and checks but names attachments only, so the first message's inline text still counts. The
last brief and checks win. Any text is a prompt: without a `<brief>` element all of it is the brief.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field

BRIEF_RE = re.compile(r"<brief\b([^>]*)>\n?(.*?)\n?</brief>", re.S)
CHECKS_RE = re.compile(r"<checks\b[^>]*>(.*?)</checks>", re.S)
EARLIER_CHECKS_RE = re.compile(r"<earlier-checks\b[^>]*>(.*?)</earlier-checks>", re.S)
ATTACHMENT_RE = re.compile(r"<attachment\b([^>]*?)(?:/>|>\n?(.*?)\n?</attachment>)", re.S)
FILE_RE = re.compile(r"<file\b([^>]*)>\n?(.*?)\n?</file>", re.S)
OUTLINE_RE = re.compile(r"<outline\b([^>]*)>\n?(.*?)\n?</outline>", re.S)
ATTR_RE = re.compile(r"([\w-]+)\s*=\s*(\"[^\"]*\"|'[^']*')")
TRUNCATED = "\n[truncated: "  # action/prompt.py's note after a cut attachment


@dataclass(frozen=True)
class Attachment:
    name: str
    media_type: str
    text: str | None  # None for binary attachments (images arrive as separate image parts)

    @property
    def complete(self) -> bool:
        return self.text is not None and TRUNCATED not in self.text


@dataclass
class Prompt:
    brief: str
    task: str = ""
    round: int = 1
    checks: list[str] = field(default_factory=list)
    earlier_checks: list[str] = field(default_factory=list)  # must keep passing from round 2 on
    attachments: list[Attachment] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    outlines: dict[str, str] = field(default_factory=dict)  # path -> the lines of a file not sent whole


def attrs(text: str) -> dict[str, str]:
    return {k.lower(): html.unescape(v[1:-1]) for k, v in ATTR_RE.findall(text)}


def check_text(line: str) -> str:
    """A check as the grader runs it: JSON lines (`{"js": ...}` or a quoted multi-line string) decoded."""
    stripped = line.strip()
    if stripped[:1] in ("{", '"'):
        try:
            value = json.loads(stripped)
        except json.JSONDecodeError:
            return stripped
        if isinstance(value, str):
            return value
        if isinstance(value, dict):
            return "\n".join(str(v) for v in value.values())
    return stripped


def parse_prompt(text: str) -> Prompt:
    briefs = list(BRIEF_RE.finditer(text))
    if not briefs:
        prompt = Prompt(brief=text.strip())
    else:
        head = attrs(briefs[-1].group(1))
        rnd = head.get("round", "1")
        prompt = Prompt(brief=briefs[-1].group(2).strip(), task=head.get("task", ""),
                        round=int(rnd) if rnd.isdigit() else 1)
    for regex, name in ((CHECKS_RE, "checks"), (EARLIER_CHECKS_RE, "earlier_checks")):
        blocks = list(regex.finditer(text))
        if blocks:
            setattr(prompt, name, [check_text(line) for line in blocks[-1].group(1).splitlines() if line.strip()])
    found: dict[str, Attachment] = {}
    for match in ATTACHMENT_RE.finditer(text):
        head = attrs(match.group(1))
        name = head.get("name")
        if name and (name not in found or match.group(2) is not None):
            found[name] = Attachment(name, head.get("media-type", ""), match.group(2))
    prompt.attachments = list(found.values())
    for regex, found_files in ((FILE_RE, prompt.files), (OUTLINE_RE, prompt.outlines)):
        for match in regex.finditer(text):
            path = attrs(match.group(1)).get("path")
            if path:
                found_files[path] = match.group(2)
    for path in prompt.files:  # a repair sends whole a file that the first request outlined
        prompt.outlines.pop(path, None)
    return prompt
