"""The receiver's side of the dispatch contract (deployer.dispatch_payload): encoding it fast, and its tokens.

We measure the whole request body we are about to send (not only `client_payload`) against the contract's limit,
so that any reading of GitHub's "the total size of the JSON payload" is satisfied.

Two tokens ride in a payload. A `brief_token` opens one stored brief: random, kept only as a hash, in the outbox.
A `report_token` lets a run append progress to one brief's story: `<expiry>.<HMAC(key, id.expiry)>` with a key
derived from SHARED_SECRET, so nothing is stored at all (not even a hash), every dispatch attempt and every re-run
of a run holds a valid one without a write on the accept path, and it stops working at its expiry
(BRIEF_TOKEN_TTL_HOURS) or when SHARED_SECRET changes. It can only add events; it reads nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Iterator
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

from deployer.dispatch_payload import MAX_REQUEST_BYTES, Inline, Reference, ReportLink, request_body

REPORT_KEY_LABEL = b"llm-pages-deployer report token v1"

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


def derive_key(shared_secret: str, label: bytes) -> bytes:
    """A key for one purpose, derived from SHARED_SECRET (so a token of one kind is never valid as another)."""
    return hmac.new(shared_secret.encode(), label, hashlib.sha256).digest()


class ReportTokens:
    """Mints and checks report tokens (see the module's docstring)."""

    def __init__(self, shared_secret: str, ttl_s: float):
        self._key = derive_key(shared_secret, REPORT_KEY_LABEL)
        self.ttl_s = ttl_s

    def _mac(self, brief_id: str, expires: int) -> str:
        digest = hmac.new(self._key, f"{brief_id}.{expires}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def mint(self, brief_id: str, now: float) -> str:
        expires = int(now + self.ttl_s)
        return f"{expires}.{self._mac(brief_id, expires)}"

    def check(self, brief_id: str, token: str, now: float) -> str | None:
        """None when `token` reports on `brief_id` now; else why not (`wrong` or `expired`)."""
        expires_text, _, mac = token.partition(".")
        if not expires_text.isdigit() or len(expires_text) > 12:
            return "wrong"
        if not hmac.compare_digest(mac.encode(), self._mac(brief_id, int(expires_text)).encode()):
            return "wrong"
        return "expired" if int(expires_text) < now else None


def report_link(public_url: str, brief_id: str, token: str) -> ReportLink:
    return ReportLink(f"{public_url.rstrip('/')}/briefs/{brief_id}/events", token)


def build_inline(brief_id: str, accepted_at: str, brief_json: str | None,
                 report: ReportLink | None = None) -> bytes | None:
    """The request body carrying the brief itself, or None when GitHub would refuse it as too large (or the brief
    was too large to be read: None)."""
    if brief_json is None:
        return None
    empty = encode(request_body(Inline(brief_id, accepted_at, {}, report)))
    # Splice the stored JSON in as-is (the contract keeps "brief" last) rather than decoding a possibly huge brief
    # just to measure it.
    body = empty[: -len(b"{}}}")] + brief_json.encode() + b"}}"
    return body if len(body) < MAX_REQUEST_BYTES else None


def build_reference(brief_id: str, accepted_at: str, public_url: str, token: str, task: str, round_: int,
                    report: ReportLink | None = None) -> bytes:
    return encode(request_body(Reference(brief_id, accepted_at, payload_url(public_url, brief_id), token, task,
                                         round_, report)))
