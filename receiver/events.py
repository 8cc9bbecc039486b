"""One log line per event, `key=value` pairs that grep and log shippers read alike.

Callers pass only identifiers and reasons: never a brief's secret, a payload token or the GitHub token. Values come
from GitHub's answers at most, which never echo a token.
"""

from __future__ import annotations

import json
import logging
import re
import sys

log = logging.getLogger("receiver")


def configure() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


NEEDS_QUOTES = re.compile(r'[\s"=]')


def _value(value: object) -> str:
    text = str(value)
    return json.dumps(text) if not text or NEEDS_QUOTES.search(text) else text


def event(stage: str, *, level: int = logging.INFO, **fields: object) -> None:
    """`stage=... id=... task=... round=...` followed by any other fields; None values are left out."""
    parts = [f"stage={stage}"] + [f"{key}={_value(value)}" for key, value in fields.items() if value is not None]
    log.log(level, " ".join(parts))
