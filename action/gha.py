"""GitHub runner conventions: workflow commands, step outputs, the job summary, and a log that never shows a secret.

The runner masks values registered with `::add-mask::` only in what it displays; our own log still passes every
line through `Log.redact`, so a secret is hidden even in a local run or in a log file written outside the runner.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TextIO

REDACTED = "***"


def escape_data(value: str) -> str:
    """Escape a workflow command's message, as @actions/core does."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    """Escape a workflow command's property value: data escapes plus ':' and ','."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str = "", **properties: str | int | None) -> str:
    """One `::name k=v,...::message` line (no newline); properties that are None are left out."""
    props = ",".join(f"{k}={escape_property(str(v))}" for k, v in properties.items() if v is not None)
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def output_entry(name: str, value: str, delimiter: str | None = None) -> str:
    """The text `set_output` appends: `name=value`, or the heredoc form for a value with a line break."""
    if not name or any(c in name for c in "=\r\n") or "<<" in name:
        raise ValueError(f"output name {name!r} must be non-empty without '=', '<<' or line breaks")
    if "\n" not in value and "\r" not in value:
        return f"{name}={value}\n"
    delimiter = delimiter or f"ghadelimiter_{secrets.token_hex(16)}"
    if delimiter in value or delimiter in name:
        raise ValueError("output delimiter occurs in the value; choose another delimiter")
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


def set_output(name: str, value: str, env: Mapping[str, str] | None = None) -> bool:
    """Append an output to $GITHUB_OUTPUT; False (nothing written) outside a runner, where there is no such file."""
    path = (os.environ if env is None else env).get("GITHUB_OUTPUT")
    if not path:
        return False
    with open(path, "a", encoding="utf-8") as out:
        out.write(output_entry(name, value))
    return True


def append_summary(markdown: str, env: Mapping[str, str] | None = None) -> bool:
    """Append Markdown to $GITHUB_STEP_SUMMARY; False outside a runner."""
    path = (os.environ if env is None else env).get("GITHUB_STEP_SUMMARY")
    if not path:
        return False
    text = markdown if markdown.endswith("\n") else markdown + "\n"
    with open(path, "a", encoding="utf-8") as out:
        out.write(text)
    return True


class Log:
    """Prints log lines and workflow commands with every registered secret replaced by `***`."""

    def __init__(self, stream: TextIO | None = None):
        self._stream = stream
        self._secrets: set[str] = set()

    @property
    def stream(self) -> TextIO:
        return self._stream if self._stream is not None else sys.stdout

    def mask(self, secret: str | None) -> None:
        """Register a secret: the runner masks it (`::add-mask::`, one per line) and `redact` removes it."""
        if not secret:
            return
        for part in [secret, *(line.strip() for line in secret.splitlines())]:
            if part and part not in self._secrets:
                self._secrets.add(part)
                self._write(command("add-mask", part))

    def redact(self, text: str) -> str:
        # Longest first, so a secret containing another is replaced whole.
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        return text

    def info(self, message: str) -> None:
        for line in self.redact(message).splitlines() or [""]:
            self._write(line)

    def error(self, message: str, title: str | None = None) -> None:
        self._write(command("error", self.redact(message), title=self.redact(title) if title else None))

    def warning(self, message: str, title: str | None = None) -> None:
        self._write(command("warning", self.redact(message), title=self.redact(title) if title else None))

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        """A collapsible `::group::` in the runner's log, closed even when the body raises."""
        self._write(command("group", self.redact(title)))
        try:
            yield
        finally:
            self._write(command("endgroup"))

    def _write(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()
