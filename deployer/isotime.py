"""ISO-8601 instants as the receiver writes them (`...Z`, milliseconds) and GitHub does (whole seconds)."""

from __future__ import annotations

from datetime import UTC, datetime


def parse(iso: object) -> datetime | None:
    """The instant, in UTC when it names no zone; None when it is not one."""
    if not isinstance(iso, str):
        return None
    try:
        stamp = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def display(iso: str) -> str:
    """`2026-01-02 03:04:05` in UTC, for people; the text as it came when it is not an instant."""
    stamp = parse(iso)
    return stamp.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if stamp else iso
