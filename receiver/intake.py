"""From the bytes of POST /api-endpoint to JSON data and the brief's stored form, holding a big body as few times
as we can.

A brief of tens of megabytes (images as data: URIs) passes through here, so every step lets go of what the next
one no longer needs: the body buffer is emptied as soon as its text exists, the text is parsed once, attachments
are sized a piece at a time (deployer.brief.data_uri_size) and the public JSON of a big brief is never built as one
string: the outbox writes it a piece at a time (Streamed). Peak memory stays near twice the body.
"""

from __future__ import annotations

import codecs
import json
import math
import re
from collections.abc import Callable, Iterator
from typing import Any

from deployer.brief import Brief
from receiver.outbox import Streamed
from receiver.payload import COMPACT, encode_pieces

TEXT_CHUNK = 1 << 20  # bytes of a big body turned into text at a time
ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")
SURROGATE = re.compile("[\ud800-\udfff]")
WIDE = re.compile(r"(\\*)([^\x00-\x7f])")  # a character beyond ASCII, with the backslashes right before it


class NotJSON(ValueError):
    """The body is not strict JSON; the message says why (and where, when the parser knows)."""


def parse_json(body: bytearray, *, ascii_over: int, text_chunk: int = TEXT_CHUNK) -> object:
    """The body's JSON value. Empties `body`: the caller's buffer is freed as soon as its text exists.

    Strict: NaN, Infinity, overflowing numbers and lone surrogates are refused, since they could not be stored or
    re-sent to GitHub as valid JSON later. A body over `ascii_over` bytes that has characters beyond ASCII is read
    as ASCII text, each such character written as its JSON escape (the same JSON value): one wide character would
    make Python hold the whole text at 2 or 4 bytes a character.
    """
    encoding = json.detect_encoding(body)
    escaped = len(body) > ascii_over and not body.isascii()
    try:
        text = _ascii_text(body, encoding, text_chunk) if escaped else body.decode(encoding)
    except UnicodeDecodeError as exc:
        raise NotJSON(str(exc)) from None
    finally:
        body.clear()
    try:
        data = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except json.JSONDecodeError as exc:
        # Columns and offsets of an escaped text are not the client's; its lines are.
        raise NotJSON(f"{exc.msg}: line {exc.lineno}" if escaped else str(exc)) from None
    except (ValueError, RecursionError) as exc:
        raise NotJSON(str(exc)[:200] or "nested too deeply") from None
    if ESCAPED_SURROGATE.search(text) and (lone := _lone_surrogate(data)) is not None:
        raise NotJSON(f"a string holds an unpaired surrogate (\\u{ord(lone):04x}), which is not Unicode")
    return data


def stored_form(brief: Brief, *, streamed: bool) -> str | Streamed:
    """The brief's public JSON (no secret) as the outbox stores it: one string, or a big brief in pieces."""
    public = brief.public_dict()
    if not streamed:
        return COMPACT.encode(public)
    return Streamed(sum(len(piece) for piece in encode_pieces(public)), lambda: encode_pieces(public))


def _ascii_text(body: bytearray, encoding: str, chunk: int) -> str:
    decoder = codecs.getincrementaldecoder(encoding)()
    out = bytearray()
    backslashes = 0  # trailing backslashes of the text so far: whether the next character is escaped
    for start in range(0, len(body), chunk):
        part = decoder.decode(body[start:start + chunk], final=start + chunk >= len(body))
        out += WIDE.sub(_escaper(backslashes), part).encode("ascii")
        trailing = len(part) - len(part.rstrip("\\"))
        backslashes = backslashes + trailing if trailing == len(part) else trailing
    body.clear()
    text = out.decode("ascii")
    out.clear()
    return text


def _escaper(backslashes_before: int) -> Callable[[re.Match[str]], str]:
    def escape(match: re.Match[str]) -> str:
        run = len(match[1]) + (backslashes_before if match.start() == 0 else 0)
        if run % 2:  # `\é`: an invalid escape that `\\u00e9` would turn into a valid one
            raise NotJSON(f"Invalid \\escape before {match[2]!r}")
        code = ord(match[2])
        if code > 0xFFFF:
            code -= 0x10000
            return f"{match[1]}\\u{0xD800 | code >> 10:04x}\\u{0xDC00 | code & 0x3FF:04x}"
        return f"{match[1]}\\u{code:04x}"

    return escape


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is out of range")
    return value


def _lone_surrogate(data: object) -> str | None:
    """A surrogate that no pair completes, in any string or key (the parser joins the pairs it finds)."""
    for text in _strings(data):
        if found := SURROGATE.search(text):
            return found[0]
    return None


def _strings(data: object) -> Iterator[str]:
    """Every string and key in `data`, without recursion (a body may nest as deep as the parser allows)."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
