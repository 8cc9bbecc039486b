"""The receiver's side of the dispatch contract (deployer.dispatch_payload): encoding it fast, and the brief tokens.

We measure the whole request body we are about to send (not only `client_payload`) against the contract's limit,
so that any reading of GitHub's "the total size of the JSON payload" is satisfied.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any

from deployer.dispatch_payload import MAX_REQUEST_BYTES, Inline, Reference, request_body


def encode(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


def mint_token() -> tuple[str, bytes]:
    """A random brief_token and the hash we store in its place."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def payload_url(public_url: str, brief_id: str) -> str:
    return f"{public_url.rstrip('/')}/briefs/{brief_id}/payload"


def build_inline(brief_id: str, accepted_at: str, brief_json: str) -> bytes | None:
    """The request body carrying the brief itself, or None when GitHub would refuse it as too large."""
    empty = encode(request_body(Inline(brief_id, accepted_at, {})))
    # Splice the stored JSON in as-is (the contract keeps "brief" last) rather than decoding a possibly huge brief
    # just to measure it.
    body = empty[: -len(b"{}}}")] + brief_json.encode() + b"}}"
    return body if len(body) < MAX_REQUEST_BYTES else None


def build_reference(brief_id: str, accepted_at: str, public_url: str, token: str, task: str, round_: int) -> bytes:
    return encode(request_body(Reference(brief_id, accepted_at, payload_url(public_url, brief_id), token, task,
                                         round_)))
