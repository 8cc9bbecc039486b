"""One log line per event, `key=value` pairs that grep and log shippers read alike.

Callers pass only identifiers and reasons: never a brief's secret, a payload token or the GitHub token. Values come
from GitHub's answers at most, which never echo a token.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time

log = logging.getLogger("receiver")


def configure() -> None:
    """Log to stderr, one line per event, at a cost fit for one line per request."""
    # What logging would otherwise gather for every record and no line of ours prints (the logging HOWTO,
    # "Optimization"): the caller's frame, thread, process and multiprocessing names.
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


class _Formatter(logging.Formatter):
    """logging's own `asctime` (2026-01-01 12:00:00,123), its date and time formatted once a second rather than
    once a line: strftime was a third of an event's cost."""

    _second = -1
    _text = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        second = int(record.created)
        if second != self._second:
            self._second, self._text = second, time.strftime(self.default_time_format, self.converter(second))
        return self.default_msec_format % (self._text, record.msecs)


NEEDS_QUOTES = re.compile(r'[\s"=]')


def _value(value: object) -> str:
    text = str(value)
    return json.dumps(text) if not text or NEEDS_QUOTES.search(text) else text


def event(stage: str, *, level: int = logging.INFO, **fields: object) -> None:
    """`stage=... id=... task=... round=...` followed by any other fields; None values are left out."""
    parts = [f"stage={stage}"] + [f"{key}={_value(value)}" for key, value in fields.items() if value is not None]
    log.log(level, " ".join(parts))
