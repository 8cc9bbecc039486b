"""The brief: the one model and validator shared by the receiver and the action.

Validation collects every wrong field before failing, so a client fixes its request in one round trip.
Nothing is silently normalised: a task that is not a valid repository name is an error, never a rename.
Every field is bounded (deployer.limits), so a brief no grader would send is refused here rather than failing later.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

from deployer.limits import NAME_CHARS_CAP, TASK_CHARS, BriefLimits

TASK_RE = re.compile(rf"[A-Za-z0-9._-]{{1,{TASK_CHARS}}}")
EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
CONTROL_CHAR = re.compile("[\x00-\x1f\x7f]")
KNOWN_FIELDS = frozenset((
    "email", "secret", "task", "round", "nonce", "brief", "checks", "evaluation_url", "attachments",
))
MAX_ROUND = 2**31 - 1  # fits every integer type downstream: SQLite, JavaScript numbers, workflow inputs


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class BriefError(ValueError):
    """A brief that breaks one or more rules; `errors` names each field and why."""

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))


class DataURIError(ValueError):
    pass


@dataclass(frozen=True)
class DataURI:
    media_type: str
    data: bytes


DATA_URI_CHUNK = 1 << 20  # characters of a data: URI's payload decoded at a time
DATA_CHARACTERS = re.compile(r"number of data characters \((\d+)\)")
NOT_ASCII = re.compile(r"[^\x00-\x7f]|%[89a-fA-F][0-9a-fA-F]")  # as it is, or percent-encoded


def parse_data_uri(url: str, *, chunk: int = DATA_URI_CHUNK) -> DataURI:
    """Decode an RFC 2397 `data:` URI (base64 or percent-encoded).

    As lenient as browsers (WHATWG forgiving-base64) where they are: the scheme in any case, padding optional.
    """
    media_type, is_base64, start = _data_uri_header(url)
    if not is_base64:
        return DataURI(media_type, unquote_to_bytes(url[start:]))
    return DataURI(media_type, b"".join(_base64_pieces(url, start, chunk)))


def data_uri_size(url: str, *, chunk: int = DATA_URI_CHUNK) -> int:
    """How many bytes `url` decodes to, checked exactly as parse_data_uri checks it, without holding the decoded
    data: a brief of megabytes is validated without a copy of its attachments."""
    _, is_base64, start = _data_uri_header(url)
    if not is_base64:
        return sum(len(unquote_to_bytes(piece)) for piece in _payload_pieces(url, start, chunk))
    return sum(len(piece) for piece in _base64_pieces(url, start, chunk))


def _data_uri_header(url: str) -> tuple[str, bool, int]:
    """The media type, whether the payload is base64, and where the payload starts."""
    if url[:5].lower() != "data:":
        raise DataURIError("is not a data: URI")
    comma = url.find(",", 5)
    if comma < 0:
        raise DataURIError("data: URI has no ',' before its data")
    params = url[5:comma].split(";")
    is_base64 = params[-1].strip().lower() == "base64"
    if is_base64:
        params = params[:-1]
    media_type = params[0].strip().lower() if params and params[0].strip() else "text/plain"
    if "/" not in media_type:
        raise DataURIError(f"data: URI media type {media_type!r} is not type/subtype")
    return media_type, is_base64, comma + 1


def _payload_pieces(url: str, start: int, chunk: int) -> Iterator[str]:
    """url[start:] in pieces of about `chunk` characters, never splitting a %XX escape."""
    end_of_url = len(url)
    while start < end_of_url:
        end = min(start + max(chunk, 3), end_of_url)
        if end < end_of_url:
            escape = url.rfind("%", end - 2, end)
            if escape > start:
                end = escape
        yield url[start:end]
        start = end


def _base64_pieces(url: str, start: int, chunk: int) -> Iterator[bytes]:
    """The payload base64-decoded piece by piece, exactly as one strict a2b_base64 call over the whole of it
    (percent-escapes and whitespace removed, padding added when there is none) would decode it or fail.

    Pieces are whole quads of base64 characters. The last quad before any '=' is held back until the next
    character is known, so the piece that meets the padding starts where the whole string would be mid-stream.
    """
    if (not url.isascii() or "%" in url) and NOT_ASCII.search(url, start):  # most URIs need no scan
        raise DataURIError("data: URI is not valid base64 (it has characters outside ASCII)")
    pending = ""
    decoded = 0  # base64 characters decoded in earlier pieces
    padded = False
    for raw in _payload_pieces(url, start, chunk):
        if "%" in raw:
            raw = unquote_to_bytes(raw).decode("ascii")
        pending += "".join(raw.split())
        padded = padded or "=" in pending
        ready = 0 if padded or len(pending) < chunk else (len(pending) - 4) // 4 * 4  # small: one a2b call
        if ready > 0:
            yield _a2b(pending[:ready], decoded)
            decoded += ready
            pending = pending[ready:]
    if not padded:
        pending += "=" * (-len(pending) % 4)
    yield _a2b(pending, decoded)


def _a2b(text: str, before: int) -> bytes:
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except binascii.Error as exc:
        # binascii counts the data characters of this piece only; say how many the whole payload has
        message = DATA_CHARACTERS.sub(lambda m: f"number of data characters ({int(m[1]) + before})", str(exc))
        raise DataURIError(f"data: URI is not valid base64 ({message})") from None


def check_file_name(name: str, max_chars: int = NAME_CHARS_CAP) -> str | None:
    """Why `name` is not a plain file name, or None when it is."""
    if not name:
        return "must not be empty"
    if len(name) > max_chars:
        return _at_most(max_chars, "characters")
    if name in (".", ".."):
        return "must not be '.' or '..'"
    if name.lower() == ".git":
        return "must not be '.git' (GitHub refuses that name in a repository)"
    if "/" in name or "\\" in name:
        return "must be a plain file name, without '/' or '\\'"
    if CONTROL_CHAR.search(name):
        return "must not contain control characters"
    return None


@dataclass(frozen=True)
class Attachment:
    name: str
    url: str

    def decode(self) -> DataURI:
        return parse_data_uri(self.url)

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "url": self.url}


@dataclass(frozen=True)
class Brief:
    email: str
    task: str
    round: int
    nonce: str
    brief: str
    evaluation_url: str
    checks: list[Any] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    secret: str | None = field(default=None, repr=False)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def repo_name(self) -> str:
        return repo_name(self.task)

    def public_dict(self) -> dict[str, Any]:
        """The brief as JSON without its secret: what may leave the receiver."""
        data: dict[str, Any] = dict(self.extra)
        data.update(
            email=self.email, task=self.task, round=self.round, nonce=self.nonce, brief=self.brief,
            checks=list(self.checks), evaluation_url=self.evaluation_url,
            attachments=[a.as_dict() for a in self.attachments],
        )
        return data


def repo_name(task: str) -> str:
    """The repository is named exactly the task, so every round of a task finds the same repository."""
    if not _valid_task(task):
        raise BriefError([FieldError("task", TASK_RULE)])
    return task


TASK_RULE = (
    f"must be 1-{TASK_CHARS} characters of A-Z a-z 0-9 . _ - and not '.' or '..' "
    "(it is used as the repository name, unchanged)"
)


def _at_most(limit: int, unit: str) -> str:
    return f"must be at most {limit} {unit}"


def _valid_task(task: object) -> bool:
    return isinstance(task, str) and TASK_RE.fullmatch(task) is not None and task not in (".", "..")


def _check_checks(value: object, errors: list[FieldError], limits: BriefLimits | None) -> list[Any]:
    if not isinstance(value, list):
        errors.append(FieldError("checks", "must be a list of strings or {\"js\": \"...\"} objects"))
        return []
    if limits is not None and len(value) > limits.checks:
        errors.append(FieldError("checks", f"{_at_most(limits.checks, 'checks')}, not {len(value)}"))
        return value
    for i, item in enumerate(value):
        if isinstance(item, str):
            size = len(item)
        elif isinstance(item, dict) and item and all(isinstance(v, str) for v in item.values()):
            size = sum(len(k) + len(v) for k, v in item.items())
        else:
            errors.append(FieldError(f"checks[{i}]",
                                     "must be a string or an object of strings such as {\"js\": \"...\"}"))
            continue
        if limits is not None and size > limits.check_chars:
            errors.append(FieldError(f"checks[{i}]", f"{_at_most(limits.check_chars, 'characters')}, not {size}"))
    return value


def _check_attachments(value: object, errors: list[FieldError], limits: BriefLimits | None) -> list[Attachment]:
    if not isinstance(value, list):
        errors.append(FieldError("attachments", "must be a list of {\"name\", \"url\"} objects"))
        return []
    if limits is not None and len(value) > limits.attachments:
        errors.append(FieldError("attachments", f"{_at_most(limits.attachments, 'attachments')}, not {len(value)}"))
        return []
    result: list[Attachment] = []
    seen: set[str] = set()
    for i, item in enumerate(value):
        where = f"attachments[{i}]"
        if not isinstance(item, dict):
            errors.append(FieldError(where, "must be an object with 'name' and 'url'"))
            continue
        name, url = item.get("name"), item.get("url")
        if not isinstance(name, str):
            errors.append(FieldError(f"{where}.name", "is required and must be a string"))
        elif (why := check_file_name(name, limits.name_chars if limits else NAME_CHARS_CAP)) is not None:
            errors.append(FieldError(f"{where}.name", why))
        elif name in seen:
            errors.append(FieldError(f"{where}.name", f"duplicates the name {name!r}"))
        if not isinstance(url, str):
            errors.append(FieldError(f"{where}.url", "is required and must be a data: URI string"))
        else:
            try:
                size = data_uri_size(url)
            except DataURIError as exc:
                errors.append(FieldError(f"{where}.url", str(exc)))
            else:
                if limits is not None and size > limits.attachment_bytes:
                    errors.append(FieldError(f"{where}.url", f"decodes to {size} bytes; "
                                             f"{_at_most(limits.attachment_bytes, 'bytes')}"))
        if isinstance(name, str) and isinstance(url, str):
            seen.add(name)
            result.append(Attachment(name, url))
    return result


def _check_url(value: object, errors: list[FieldError], limits: BriefLimits | None) -> str:
    if not isinstance(value, str) or not value:
        errors.append(FieldError("evaluation_url", "is required and must be an http or https URL"))
        return ""
    if limits is not None and len(value) > limits.url_chars:
        errors.append(FieldError("evaluation_url", f"{_at_most(limits.url_chars, 'characters')}, not {len(value)}"))
        return value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        errors.append(FieldError("evaluation_url", "must be an http or https URL with a host"))
    return value


def _required_str(data: dict[str, Any], name: str, errors: list[FieldError], max_chars: int | None = None) -> str:
    value = data.get(name)
    if name not in data or value is None:
        errors.append(FieldError(name, "is required"))
        return ""
    if not isinstance(value, str):
        errors.append(FieldError(name, f"must be a string, not {_json_type(value)}"))
        return ""
    if not value.strip():
        errors.append(FieldError(name, "must not be empty"))
    elif max_chars is not None and len(value) > max_chars:
        errors.append(FieldError(name, f"{_at_most(max_chars, 'characters')}, not {len(value)}"))
        return ""
    return value


DEFAULT_LIMITS = BriefLimits()


def parse_brief(data: object, *, require_secret: bool = True, limits: BriefLimits | None = DEFAULT_LIMITS) -> Brief:
    """Validate a decoded JSON brief; raise BriefError naming every wrong field.

    The action reads briefs that the receiver already stripped of their secret, hence `require_secret`; it passes
    `limits=None` for a brief the receiver dispatched, which the receiver's own limits (perhaps raised) already passed.
    """
    if not isinstance(data, dict):
        raise BriefError([FieldError("(body)", f"must be a JSON object, not {_json_type(data)}")])
    errors: list[FieldError] = []
    email = _required_str(data, "email", errors, limits.email_chars if limits else None)
    if email and EMAIL_RE.fullmatch(email) is None:
        errors.append(FieldError("email", "must look like an e-mail address (name@domain.tld)"))
    secret: str | None = None
    if require_secret:
        secret = _required_str(data, "secret", errors)
    elif isinstance(data.get("secret"), str):
        secret = data["secret"]
    task = data.get("task")
    if "task" not in data or task is None:
        errors.append(FieldError("task", "is required"))
    elif not _valid_task(task):
        errors.append(FieldError("task", TASK_RULE))
    rnd = data.get("round")
    if "round" not in data or rnd is None:
        errors.append(FieldError("round", "is required"))
    elif isinstance(rnd, bool) or not isinstance(rnd, int):
        errors.append(FieldError("round", f"must be an integer, not {_json_type(rnd)}"))
    elif rnd < 1:
        errors.append(FieldError("round", "must be 1 or more"))
    elif rnd > MAX_ROUND:
        errors.append(FieldError("round", f"must be at most {MAX_ROUND}"))
    nonce = _required_str(data, "nonce", errors, limits.nonce_chars if limits else None)
    if nonce and CONTROL_CHAR.search(nonce):
        errors.append(FieldError("nonce", "must be one line without control characters (it is a commit trailer)"))
    text = _required_str(data, "brief", errors, limits.brief_chars if limits else None)
    url = _check_url(data.get("evaluation_url"), errors, limits)
    checks = _check_checks(data.get("checks"), errors, limits) if data.get("checks") is not None else []
    attachments = (
        _check_attachments(data.get("attachments"), errors, limits) if data.get("attachments") is not None else []
    )
    if errors:
        raise BriefError(errors)
    return Brief(
        email=email, task=str(task), round=int(rnd), nonce=nonce, brief=text, evaluation_url=url,  # type: ignore[arg-type]
        checks=list(checks), attachments=attachments, secret=secret,
        extra={k: v for k, v in data.items() if k not in KNOWN_FIELDS},
    )


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else type(value).__name__
