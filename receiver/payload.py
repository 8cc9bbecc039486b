"""The receiver's side of the dispatch contract (deployer.dispatch_payload): encoding it fast, and the brief tokens.

We measure the whole request body we are about to send (not only `client_payload`) against the contract's limit,
so that any reading of GitHub's "the total size of the JSON payload" is satisfied.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterator
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

from deployer.dispatch_payload import MAX_REQUEST_BYTES, Inline, Reference, request_body

PIECE_CHARS = 1 << 20
PIECE_DEPTH = 8  # deeper containers are encoded whole: a big brief's big strings sit two or three levels down


COMPACT = json.JSONEncoder(separators=(",", ":"))  # one encoder for every call: json.dumps builds one per call


def encode(data: Any) -> bytes:
    return COMPACT.encode(data).encode()


def encode_pieces(data: Any, *, piece: int = PIECE_CHARS) -> Iterator[bytes]:
    """encode(data) in pieces of about `piece` bytes: the same bytes, without ever holding all of them (or a
    second copy of a long string) at once."""
    parts: list[str] = []
    size = 0
    for part in _json_parts(data, piece, 0):
        parts.append(part)
        size += len(part)
        if size >= piece:
            yield "".join(parts).encode("ascii")
            parts, size = [], 0
    if parts:
        yield "".join(parts).encode("ascii")


def _json_parts(value: Any, piece: int, depth: int) -> Iterator[str]:
    if isinstance(value, str) and len(value) > piece:
        yield '"'
        for start in range(0, len(value), piece):  # escaping is per character: slices escape as the whole does
            yield encode_basestring_ascii(value[start:start + piece])[1:-1]
        yield '"'
    elif isinstance(value, dict) and depth < PIECE_DEPTH:
        yield "{"
        for i, (key, item) in enumerate(value.items()):
            yield f"{',' if i else ''}{json.dumps(key)}:"
            yield from _json_parts(item, piece, depth + 1)
        yield "}"
    elif isinstance(value, list) and depth < PIECE_DEPTH:
        yield "["
        for i, item in enumerate(value):
            if i:
                yield ","
            yield from _json_parts(item, piece, depth + 1)
        yield "]"
    else:
        yield COMPACT.encode(value)


def mint_token() -> tuple[str, bytes]:
    """A random brief_token and the hash we store in its place."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def payload_url(public_url: str, brief_id: str) -> str:
    return f"{public_url.rstrip('/')}/briefs/{brief_id}/payload"


def build_inline(brief_id: str, accepted_at: str, brief_json: str | None) -> bytes | None:
    """The request body carrying the brief itself, or None when GitHub would refuse it as too large (or the brief
    was too large to be read: None)."""
    if brief_json is None:
        return None
    empty = encode(request_body(Inline(brief_id, accepted_at, {})))
    # Splice the stored JSON in as-is (the contract keeps "brief" last) rather than decoding a possibly huge brief
    # just to measure it.
    body = empty[: -len(b"{}}}")] + brief_json.encode() + b"}}"
    return body if len(body) < MAX_REQUEST_BYTES else None


def build_reference(brief_id: str, accepted_at: str, public_url: str, token: str, task: str, round_: int) -> bytes:
    return encode(request_body(Reference(brief_id, accepted_at, payload_url(public_url, brief_id), token, task,
                                         round_)))
