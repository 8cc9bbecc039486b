"""Workflow commands (`::name k=v::data` lines), environment files and step summaries, as the runner reads them.

Pure parsing plus the secret masker; `execute.py` feeds it the lines of a step's output and the files it wrote.
Rules: docs.github.com "Workflow commands for GitHub Actions".
"""

from __future__ import annotations

import base64
import json
import urllib.parse
from dataclasses import dataclass, field

SUMMARY_LIMIT = 1024 * 1024
MASK = "***"


class EnvFileError(ValueError):
    """A GITHUB_OUTPUT / GITHUB_ENV file the runner refuses (the step fails)."""


@dataclass(frozen=True)
class Command:
    name: str  # lower-case
    properties: dict[str, str]
    data: str


@dataclass(frozen=True)
class Annotation:
    level: str  # "error" | "warning" | "notice"
    message: str
    properties: dict[str, str] = field(default_factory=dict)


def unescape_data(text: str) -> str:
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def unescape_property(text: str) -> str:
    return (
        text.replace("%0D", "\r").replace("%0A", "\n").replace("%3A", ":").replace("%2C", ",").replace("%25", "%")
    )


def parse_command(line: str) -> Command | None:
    """`::name key=value,key=value::data` -> Command; anything else (including a bare `::`) -> None."""
    text = line.lstrip()
    if not text.startswith("::"):
        return None
    end = text.find("::", 2)
    if end < 0:
        return None
    head, data = text[2:end], text[end + 2 :]
    name, _, props_text = head.partition(" ")
    if not name:
        return None
    properties: dict[str, str] = {}
    for pair in props_text.split(","):
        key, sep, value = pair.partition("=")
        if sep and key.strip():
            properties[key.strip()] = unescape_property(value)
    return Command(name.lower(), properties, unescape_data(data))


class Masker:
    """Replaces registered secret values (and their JSON, URL and base64 encodings) with `***`."""

    def __init__(self) -> None:
        self._values: set[str] = set()

    def add(self, value: str) -> None:
        for item in [value, *value.splitlines()]:
            item = item.strip()
            if not item:
                continue
            self._values.add(item)
            if len(item) < 8:
                continue  # encodings of very short values would mask ordinary text
            self._values.add(json.dumps(item)[1:-1])
            self._values.add(urllib.parse.quote(item, safe=""))
            self._values.add(base64.b64encode(item.encode()).decode().rstrip("="))
        self._values.discard("")

    def mask(self, text: str) -> str:
        for value in sorted(self._values, key=len, reverse=True):
            if value in text:
                text = text.replace(value, MASK)
        return text


ANNOTATION_PROPERTIES = ("title", "file", "line", "endLine", "col", "endColumn")
DEPRECATED_SET_OUTPUT = (
    "The `set-output` command is deprecated and will be disabled soon. Please upgrade to using Environment Files."
)
_DISABLED = {
    "set-env": "The `set-env` command is disabled. Please upgrade to using Environment Files.",
    "add-path": "The `add-path` command is disabled. Please upgrade to using Environment Files.",
}


@dataclass
class OutputProcessor:
    """Turns a step's raw output lines into masked log lines, recording what the commands asked for."""

    masker: Masker
    debug: bool = False
    annotations: list[Annotation] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)  # from the deprecated `::set-output`
    failed: bool = False  # a disabled command was used
    _stop_token: str | None = None

    def feed(self, line: str) -> list[str]:
        """Process one line of output; returns the (masked) log lines it produces."""
        command = parse_command(line)
        if self._stop_token is not None:
            if command is not None and command.name == self._stop_token.lower():
                self._stop_token = None
                return []
            return [self.masker.mask(line)]
        if command is None:
            return [self.masker.mask(line)]
        return [self.masker.mask(out) for out in self._run(command, line)]

    def _run(self, command: Command, line: str) -> list[str]:
        name, data = command.name, command.data
        if name == "add-mask":
            self.masker.add(data)
            return []
        if name == "group":
            return [f"##[group]{data}"]
        if name == "endgroup":
            return ["##[endgroup]"]
        if name in ("error", "warning", "notice"):
            props = {k: v for k, v in command.properties.items() if k in ANNOTATION_PROPERTIES}
            self.annotations.append(Annotation(name, self.masker.mask(data), props))
            return [f"##[{name}]{data}"]
        if name == "debug":
            return [f"##[debug]{data}"] if self.debug else []
        if name == "stop-commands":
            if data:
                self._stop_token = data
            return []
        if name == "set-output":
            key = command.properties.get("name", "")
            if not key:
                self.annotations.append(Annotation("error", "set-output: the 'name' property is required"))
                self.failed = True
                return ["##[error]set-output: the 'name' property is required"]
            self.outputs[key] = data
            self.annotations.append(Annotation("warning", DEPRECATED_SET_OUTPUT))
            return [f"##[warning]{DEPRECATED_SET_OUTPUT}"]
        if name == "save-state":  # state for a JS action's post step; this runner runs no post steps
            return []
        if name in _DISABLED:
            self.annotations.append(Annotation("error", _DISABLED[name]))
            self.failed = True
            return [f"##[error]{_DISABLED[name]}"]
        return [line]  # not a command the runner knows: printed as it is


def parse_env_file(text: str) -> list[tuple[str, str]]:
    """`name=value` lines and `name<<DELIM` heredocs, in order; whichever of `=` / `<<` comes first decides."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    lines = [line[:-1] if line.endswith("\r") else line for line in lines]
    pairs: list[tuple[str, str]] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        eq, heredoc = line.find("="), line.find("<<")
        if eq >= 0 and (heredoc < 0 or eq < heredoc):
            key, value = line[:eq], line[eq + 1 :]
            if not key:
                raise EnvFileError(f"Invalid format '{line}'")
            pairs.append((key, value))
        elif heredoc >= 0:
            key, delimiter = line[:heredoc], line[heredoc + 2 :]
            if not key or not delimiter:
                raise EnvFileError(f"Invalid format '{line}'")
            body: list[str] = []
            while i < len(lines) and lines[i] != delimiter:
                body.append(lines[i])
                i += 1
            if i >= len(lines):
                raise EnvFileError(f"Invalid value. Matching delimiter not found '{delimiter}'")
            i += 1
            pairs.append((key, "\n".join(body)))
        else:
            raise EnvFileError(f"Invalid format '{line}'")
    return pairs


def parse_path_file(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def summary_error(size: int) -> str | None:
    """The runner's error for a step summary over 1 MiB (the step itself does not fail)."""
    if size <= SUMMARY_LIMIT:
        return None
    return (
        f"$GITHUB_STEP_SUMMARY upload aborted, supports content up to a size of {SUMMARY_LIMIT // 1024}k, "
        f"got {size // 1024}k."
    )
