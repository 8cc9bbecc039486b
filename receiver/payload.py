"""What the receiver sends to GitHub for one brief: the brief itself, or a reference when it is too big.

GitHub's `client_payload` allows at most 10 top-level properties and under 64 KB in all. The brief is always nested
under one key, so the property count never grows with the brief; size decides between inline and reference. We
measure the whole request body we are about to send (not only `client_payload`) and keep a margin under 64 KB, so
that any reading of "the total size of the JSON payload" is satisfied.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any

EVENT_TYPE = "deploy-brief"
MAX_PAYLOAD_BYTES = 64_000  # GitHub: "less than 64KB"; 64,000 is under both 64,000 and 65,536


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
    head = encode({"event_type": EVENT_TYPE, "client_payload": {"id": brief_id, "accepted_at": accepted_at}})
    # Splice the stored JSON in as-is rather than decoding a possibly huge brief just to measure it.
    body = head[:-2] + b',"brief":' + brief_json.encode() + b"}}"
    return body if len(body) < MAX_PAYLOAD_BYTES else None


def build_reference(brief_id: str, accepted_at: str, public_url: str, token: str, task: str, round_: int) -> bytes:
    """The reference, plus the task and round: the deploy workflow's concurrency group needs the task before the
    action has fetched the brief (both are already public: they name the repository)."""
    payload = {"id": brief_id, "accepted_at": accepted_at, "brief_url": payload_url(public_url, brief_id),
               "brief_token": token, "task": task, "round": round_}
    return encode({"event_type": EVENT_TYPE, "client_payload": payload})
