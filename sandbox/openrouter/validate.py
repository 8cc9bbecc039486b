"""Validate a chat completions request the way OpenRouter does, before any model is tried.

Pure: a decoded JSON body in, a `ChatRequest` out, or an `ApiError` 400 that names the offending field. The request
also carries what routing, the prompt cache and the writer need: the parameters sent, the cache breakpoints, a
trailing assistant prefill, and the identity of the conversation the answer depends on.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from deployer.brief import DataURIError, parse_data_uri
from sandbox.openrouter.errors import ApiError
from sandbox.openrouter.models import DEFAULT_MODEL, Catalogue, Model

IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp", "image/gif")
ROLES = ("system", "developer", "user", "assistant", "tool")
DETAILS = ("auto", "low", "high", "original")
SCHEMA_NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
IMAGE_TOKENS = 85  # what one image counts in `usage` (OpenAI's low-detail figure)
CACHE_TTLS = ("5m", "1h")  # [prompt-caching]: `cache_control: {"type": "ephemeral", "ttl"?}`
# Request fields that are parameters in the sense of `supported_parameters` (for `provider.require_parameters`).
PARAMETERS = ("max_tokens", "temperature", "top_p", "top_k", "stop", "seed", "response_format", "tools",
              "tool_choice", "frequency_penalty", "presence_penalty")


@dataclass(frozen=True)
class Retired:
    """A slug OpenRouter no longer serves: an attempt on it fails with 404 (see models.RETIRED)."""

    id: str


@dataclass(frozen=True)
class Prefix:
    """Where a cacheable prefix of the prompt ends: in `prompt_text`, and in its images (count and digest)."""

    end: int
    images: int
    digest: str


@dataclass
class ChatRequest:
    models: list[Model | Retired]
    stream: bool = False
    max_tokens: int | None = None
    response_format: dict[str, Any] | None = None
    prompt_text: str = ""  # every message's text, for token counting
    user_texts: list[str] = field(default_factory=list)  # what the built-in generator reads
    images: int = 0
    prefill: str | None = None  # a trailing assistant message: the model continues it ([API])
    identity: str = ""  # digest of the conversation without the prefill: what the answer depends on
    breakpoints: list[Prefix] = field(default_factory=list)  # ends of `cache_control` parts (explicit caching)
    message_ends: list[Prefix] = field(default_factory=list)  # ends of messages (automatic caching)
    parameters: set[str] = field(default_factory=set)  # the PARAMETERS this request sets
    require_parameters: bool = False
    image_urls: list[str] = field(default_factory=list)

    @property
    def prompt_tokens(self) -> int:
        return count_tokens(self.prompt_text) + IMAGE_TOKENS * self.images

    def prefix_tokens(self, prefix: Prefix) -> int:
        return count_tokens(self.prompt_text[:prefix.end]) + IMAGE_TOKENS * prefix.images


def count_tokens(text: str) -> int:
    """Roughly 4 characters a token (OpenRouter's own estimate for most tokenizers); 0 only for empty text."""
    return math.ceil(len(text) / 4)


def parse_chat_request(body: object, catalogue: Catalogue) -> ChatRequest:
    if not isinstance(body, dict):
        raise ApiError(400, "Request body must be a JSON object")
    models = _models(body, catalogue)
    req = ChatRequest(models=models)
    _messages(body.get("messages"), req)
    if _cache_control(body.get("cache_control"), "cache_control"):  # automatic: up to the last block
        req.breakpoints.append(Prefix(len(req.prompt_text), req.images, _image_digest(req)))
    stream = body.get("stream", False)
    if stream is not None and not isinstance(stream, bool):
        raise ApiError(400, "stream must be a boolean")
    req.stream = bool(stream)
    req.max_tokens = _max_tokens(body)
    temperature = body.get("temperature")
    if temperature is not None and (
        isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not 0 <= temperature <= 2
    ):
        raise ApiError(400, "temperature must be a number from 0.0 to 2.0")
    req.response_format = _response_format(body.get("response_format"))
    provider = body.get("provider")
    if provider is not None and not isinstance(provider, dict):
        raise ApiError(400, "provider must be an object")
    req.require_parameters = bool((provider or {}).get("require_parameters"))
    req.parameters = _parameters(body, req.response_format)
    messages = body["messages"][:-1] if req.prefill is not None else body["messages"]
    canonical = json.dumps({"messages": messages, "response_format": req.response_format}, sort_keys=True)
    req.identity = hashlib.sha256(canonical.encode()).hexdigest()
    return req


def _parameters(body: dict[str, Any], response_format: dict[str, Any] | None) -> set[str]:
    """The `supported_parameters` names this request needs (a json_schema needs `structured_outputs` too)."""
    found = {p for p in PARAMETERS if body.get(p) is not None}
    if body.get("max_completion_tokens") is not None:
        found.add("max_tokens")
    if response_format is not None and response_format["type"] == "json_schema":
        found.add("structured_outputs")
    return found


def _models(body: dict[str, Any], catalogue: Catalogue) -> list[Model | Retired]:
    """`model` first, then `models` in order ([FB]); an omitted `model` means the account's default.

    An id that never existed fails the whole request at once; a retired one fails only its own attempt."""
    ids: list[str] = []
    model = body.get("model")
    if model is not None:
        if not isinstance(model, str) or not model:
            raise ApiError(400, "model must be a non-empty string")
        ids.append(model)
    fallbacks = body.get("models")
    if fallbacks is not None:
        if not isinstance(fallbacks, list) or not all(isinstance(m, str) and m for m in fallbacks):
            raise ApiError(400, "models must be an array of model ID strings")
        ids.extend(m for m in fallbacks if m not in ids)
    if not ids:
        ids.append(DEFAULT_MODEL)
    resolved: list[Model | Retired] = []
    for model_id in ids:
        found = catalogue.get(model_id)
        if found is None and catalogue.retired(model_id):
            resolved.append(Retired(model_id))
        elif found is None:
            raise ApiError(400, f"{model_id} is not a valid model ID", {"requested_models": ids})
        else:
            resolved.append(found)
    return resolved


def _messages(messages: object, req: ChatRequest) -> None:
    if messages is None:
        raise ApiError(400, "messages is required")
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "messages must be a non-empty array")
    for i, msg in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(msg, dict):
            raise ApiError(400, f"{where} must be an object")
        role = msg.get("role")
        if role not in ROLES:
            raise ApiError(400, f"{where}.role must be one of {', '.join(ROLES)}")
        if role == "tool" and not isinstance(msg.get("tool_call_id"), str):
            raise ApiError(400, f"{where}.tool_call_id is required for role 'tool'")
        if i:
            req.prompt_text += "\n"
        text = _content(msg.get("content"), role, where, req, has_tool_calls=bool(msg.get("tool_calls")))
        req.message_ends.append(Prefix(len(req.prompt_text), req.images, _image_digest(req)))
        if role == "user":
            req.user_texts.append(text)
        last = i == len(messages) - 1
        if last and role == "assistant" and not msg.get("tool_calls") and i > 0:
            req.prefill = text


def _content(content: object, role: str, where: str, req: ChatRequest, *, has_tool_calls: bool) -> str:
    """The message's text, appended to `req.prompt_text` as it is read (so cache breakpoints know their offset)."""
    if isinstance(content, str):
        req.prompt_text += content
        return content
    if content is None and role == "assistant" and has_tool_calls:
        return ""
    if not isinstance(content, list):
        raise ApiError(400, f"{where}.content must be a string or an array of content parts")
    texts: list[str] = []
    for j, part in enumerate(content):
        at = f"{where}.content[{j}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            if not isinstance(part.get("text"), str):
                raise ApiError(400, f"{at}.text must be a string")
            req.prompt_text += ("\n" if texts else "") + part["text"]
            texts.append(part["text"])
        elif kind == "image_url":
            if role != "user":
                raise ApiError(400, f"{at}: image parts are only allowed in user messages")
            _image(part.get("image_url"), at)
            req.images += 1
            req.image_urls.append(part["image_url"]["url"])
        else:
            raise ApiError(400, f"{at}.type must be 'text' or 'image_url' (the sandbox supports no other parts)")
        if _cache_control(part.get("cache_control"), f"{at}.cache_control"):
            req.breakpoints.append(Prefix(len(req.prompt_text), req.images, _image_digest(req)))
    return "\n".join(texts)


def _cache_control(value: object, where: str) -> bool:
    """Whether a `cache_control` marks a breakpoint here; a malformed one is a 400 naming it."""
    if value is None:
        return False
    if not isinstance(value, dict) or value.get("type") != "ephemeral":
        raise ApiError(400, f'{where} must be {{"type": "ephemeral"}} (optionally with "ttl")')
    if value.get("ttl") is not None and value["ttl"] not in CACHE_TTLS:
        raise ApiError(400, f"{where}.ttl must be one of {', '.join(CACHE_TTLS)}")
    return True


def _image_digest(req: ChatRequest) -> str:
    return hashlib.sha256("\n".join(req.image_urls).encode()).hexdigest()


def _image(image: object, at: str) -> None:
    if not isinstance(image, dict) or not isinstance(image.get("url"), str):
        raise ApiError(400, f"{at}.image_url must be an object with a url string")
    detail = image.get("detail")
    if detail is not None and detail not in DETAILS:
        raise ApiError(400, f"{at}.image_url.detail must be one of {', '.join(DETAILS)}")
    url: str = image["url"]
    if url.startswith("data:"):
        try:
            data = parse_data_uri(url)
        except DataURIError as exc:
            raise ApiError(400, f"{at}.image_url.url: {exc}") from None
        if data.media_type not in IMAGE_TYPES:
            raise ApiError(
                400, f"{at}.image_url.url: unsupported image type {data.media_type}; "
                f"supported: {', '.join(IMAGE_TYPES)}",
            )
        if sniff_image(data.data) != data.media_type:
            raise ApiError(400, f"{at}.image_url.url: the data is not a valid {data.media_type} image")
        return
    if urlsplit(url).scheme not in ("http", "https"):
        raise ApiError(400, f"{at}.image_url.url must be an http(s) URL or a data: URI")


def sniff_image(data: bytes) -> str | None:
    """The image type the bytes' signature says, as providers check it against the declared type."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _max_tokens(body: dict[str, Any]) -> int | None:
    for name in ("max_completion_tokens", "max_tokens"):
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ApiError(400, f"{name} must be an integer of 1 or more")
        return value
    return None


def _response_format(value: object) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or value.get("type") not in ("text", "json_object", "json_schema"):
        raise ApiError(400, "response_format.type must be 'text', 'json_object' or 'json_schema'")
    if value["type"] == "json_schema":
        schema = value.get("json_schema")
        if not isinstance(schema, dict) or not isinstance(schema.get("name"), str):
            raise ApiError(400, "response_format.json_schema.name is required")
        if not SCHEMA_NAME_RE.fullmatch(schema["name"]):
            raise ApiError(400, "response_format.json_schema.name must be 1-64 of a-z A-Z 0-9 _ -")
        if "schema" in schema and not isinstance(schema["schema"], dict):
            raise ApiError(400, "response_format.json_schema.schema must be an object")
    return None if value["type"] == "text" else value
