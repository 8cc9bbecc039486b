"""The OpenRouter stand-in through a real socket: shapes, validation, fallback, streaming and every fault."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
import requests

from tests.conftest import OpenRouter

PNG_1PX = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def chat(
    o: OpenRouter, body: dict[str, Any] | None = None, *, key: str | None = "default",
    headers: dict[str, str] | None = None, timeout: float = 30, **kwargs: Any,
) -> requests.Response:
    headers = dict(headers or {})
    if key is not None:
        headers["Authorization"] = f"Bearer {o.key if key == 'default' else key}"
    payload = body if body is not None else user("hi")
    return requests.post(f"{o.base_url}/chat/completions", json=payload, headers=headers, timeout=timeout, **kwargs)


def user(content: Any, **extra: Any) -> dict[str, Any]:
    return {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": content}], **extra}


def image(url: str) -> dict[str, Any]:
    return user([{"type": "text", "text": "look"}, {"type": "image_url", "image_url": {"url": url}}])


def sse_events(response: requests.Response) -> tuple[list[str], list[dict[str, Any]], bool]:
    """Comments, decoded data events, and whether `[DONE]` ended the stream."""
    comments, events, done = [], [], False
    for line in response.iter_lines(decode_unicode=True):
        if line.startswith(":"):
            comments.append(line)
        elif line.startswith("data: "):
            data = line[len("data: "):]
            if data == "[DONE]":
                done = True
            else:
                events.append(json.loads(data))
    return comments, events, done


def test_success_has_openrouters_shape_and_usage(openrouter: OpenRouter) -> None:
    r = chat(openrouter)
    assert r.status_code == 200
    body = r.json()
    for name in ("id", "object", "created", "model", "system_fingerprint", "choices", "usage"):
        assert name in body
    assert body["id"].startswith("gen-")
    assert body["object"] == "chat.completion"
    assert body["model"] == "openai/gpt-4o-mini"
    choice = body["choices"][0]
    assert choice["index"] == 0
    assert choice["message"]["role"] == "assistant"
    assert choice["finish_reason"] == choice["native_finish_reason"] == "stop"
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["completion_tokens"] == -(-len(choice["message"]["content"]) // 4)  # chars/4, rounded up
    assert usage["cost"] > 0


def test_missing_or_malformed_key_is_401(openrouter: OpenRouter) -> None:
    for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Basic abc"}):
        r = requests.post(f"{openrouter.base_url}/chat/completions", json=user("hi"), headers=headers, timeout=10)
        assert r.status_code == 401
        assert r.json() == {"error": {"code": 401, "message": "Missing Authentication header"}}


def test_pinned_key_rejects_others(services: Any) -> None:
    svc = services.start("openrouter-key", "sandbox", "openrouter", "--port", "0", "--key", "sk-or-v1-right")
    o = OpenRouter(svc, svc.url, key="sk-or-v1-wrong")
    r = chat(o)
    assert r.status_code == 401 and r.json()["error"]["code"] == 401
    assert chat(o, key="sk-or-v1-right").status_code == 200
    wrong = {"Authorization": "Bearer sk-or-v1-wrong"}
    assert requests.get(f"{o.base_url}/key", headers=wrong, timeout=10).status_code == 401


INVALID = [
    ({"model": "openai/gpt-4o-mini"}, "messages is required"),
    ({"model": "openai/gpt-4o-mini", "messages": []}, "messages must be a non-empty array"),
    ({**user("x"), "model": "acme/fake-1.0"}, "acme/fake-1.0 is not a valid model ID"),
    ({"model": "openai/gpt-4o-mini", "models": ["nope/x"], "messages": [{"role": "user", "content": "x"}]},
     "nope/x is not a valid model ID"),
    ({"messages": [{"role": "wizard", "content": "x"}]}, "role must be one of"),
    (user("x", temperature=3), "temperature"),
    (user("x", max_tokens=0), "max_tokens"),
    (user("x", response_format={"type": "json_schema", "json_schema": {"name": "bad name!"}}), "json_schema.name"),
    (user([{"type": "audio", "data": "x"}]), "type must be 'text' or 'image_url'"),
    (image("data:image/bmp;base64,Qk0="), "unsupported image type image/bmp"),
    (image("data:image/png;base64,bm90IGEgcG5n"), "not a valid image/png"),
    (image("data:image/png;base64,%%%"), "base64"),
    (image("ftp://x/y.png"), "http(s) URL or a data: URI"),
]


def test_invalid_requests_are_400_naming_the_problem(openrouter: OpenRouter) -> None:
    for body, needle in INVALID:
        r = chat(openrouter, body)
        assert r.status_code == 400, (body, r.text)
        error = r.json()["error"]
        assert error["code"] == 400
        assert needle in error["message"], (needle, error)
    assert openrouter.requests()[0]["status"] == 400


def test_body_that_is_not_json_is_400(openrouter: OpenRouter) -> None:
    r = requests.post(f"{openrouter.base_url}/chat/completions", data=b"{nope", timeout=10,
                      headers={"Authorization": f"Bearer {openrouter.key}", "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == 400


def test_images_of_every_supported_type_and_ignored_extras_are_accepted(openrouter: OpenRouter) -> None:
    samples = {
        "image/png": PNG_1PX, "image/jpeg": b"\xff\xd8\xff\xe0rest", "image/gif": b"GIF89a rest",
        "image/webp": b"RIFF\x00\x00\x00\x00WEBPVP8 ",
    }
    parts: list[dict[str, Any]] = [{"type": "text", "text": "describe"}]
    for kind, data in samples.items():
        url = f"data:{kind};base64,{base64.b64encode(data).decode()}"
        parts.append({"type": "image_url", "image_url": {"url": url, "detail": "auto"}})
    body = user(parts, usage={"include": True}, route="fallback", provider={"require_parameters": True}, seed=1)
    r = chat(openrouter, body, headers={"HTTP-Referer": "https://example.com", "X-Title": "tests"})
    assert r.status_code == 200, r.text
    assert r.json()["usage"]["prompt_tokens"] >= 4 * 85  # images count in the prompt


def test_key_and_legacy_auth_key_report_the_balance(openrouter: OpenRouter) -> None:
    chat(openrouter)
    auth = {"Authorization": f"Bearer {openrouter.key}"}
    for path in ("key", "auth/key"):
        r = requests.get(f"{openrouter.base_url}/{path}", headers=auth, timeout=10)
        data = r.json()["data"]
        assert data["limit"] == 1.5 and data["usage"] > 0 and data["is_free_tier"] is False  # the default $1.50
        assert data["limit_remaining"] == round(1.5 - data["usage"], 10)
        assert openrouter.key not in r.text  # the label masks the key
    r = requests.get(f"{openrouter.base_url}/key", timeout=10)
    assert r.status_code == 401


def test_unknown_route_is_an_openrouter_error(openrouter: OpenRouter) -> None:
    r = requests.get(f"{openrouter.base_url}/nope", timeout=10)
    assert r.status_code == 404 and r.json()["error"]["code"] == 404


def test_scripted_successes_play_in_order_and_requests_are_recorded(openrouter: OpenRouter) -> None:
    openrouter.script({"content": "first"}, {"content": "second", "finish_reason": "length",
                                              "usage": {"prompt_tokens": 7}})
    a = chat(openrouter, user("one"), headers={"X-Title": "tests"}).json()
    b = chat(openrouter, user("two")).json()
    assert a["choices"][0]["message"]["content"] == "first"
    assert b["choices"][0]["message"]["content"] == "second"
    assert b["choices"][0]["finish_reason"] == "length"
    assert b["usage"]["prompt_tokens"] == 7
    c = chat(openrouter, user("three")).json()  # queue empty: the built-in generator answers
    assert "index.html" in c["choices"][0]["message"]["content"]
    log = openrouter.requests()
    assert "answer" not in log[0] and log[2]["answer"]["style"] == "varied"  # the default style
    assert [e["body"]["messages"][0]["content"] for e in log] == ["one", "two", "three"]
    assert all("authorization" not in {h.lower() for h in e["headers"]} for e in log)
    assert openrouter.key not in json.dumps(log)
    assert log[0]["headers"]["X-Title"] == "tests"
    assert requests.delete(f"{openrouter.url}/_sandbox/requests", timeout=10).ok
    assert openrouter.requests() == []


def test_script_delete_empties_the_queue(openrouter: OpenRouter) -> None:
    openrouter.script({"content": "scripted"})
    assert requests.get(f"{openrouter.url}/_sandbox/script", timeout=10).json() == {"queued": 1}
    requests.delete(f"{openrouter.url}/_sandbox/script", timeout=10).raise_for_status()
    assert chat(openrouter).json()["choices"][0]["message"]["content"] != "scripted"


def test_bad_scripts_are_refused(openrouter: OpenRouter) -> None:
    for bad, needle in [
        ({"responses": "x"}, "responses"), ({"responses": [{"status": 99}]}, "status"),
        ({"responses": [{"content": 5}]}, "content"), ({"responses": [{"contnet": "typo"}]}, "contnet"),
        ({"responses": [{"status": 200}]}, "needs a body"), ({"responses": [{"delay": -1}]}, "delay"),
    ]:
        r = requests.post(f"{openrouter.url}/_sandbox/script", json=bad, timeout=10)
        assert r.status_code == 400 and needle in r.json()["error"], (bad, r.text)
    assert requests.get(f"{openrouter.url}/_sandbox/script", timeout=10).json() == {"queued": 0}


def test_scripted_statuses_have_openrouters_error_body(openrouter: OpenRouter) -> None:
    statuses = [400, 401, 402, 403, 408, 500, 502, 503, 524]
    openrouter.script(*({"status": s} for s in statuses))
    for status in statuses:
        r = chat(openrouter)
        assert r.status_code == status
        error = r.json()["error"]
        assert error["code"] == status and error["message"]
        assert ("Retry-After" in r.headers) == (status == 503), status


def test_scripted_429_carries_retry_and_rate_limit_headers(openrouter: OpenRouter) -> None:
    openrouter.script({"status": 429}, {"status": 429, "headers": {"Retry-After": "7"}, "message": "slow down"})
    first = chat(openrouter)
    assert first.status_code == 429
    assert first.headers["Retry-After"] == "1"
    assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= set(first.headers)
    assert first.json()["error"]["metadata"]["error_type"] == "rate_limit_exceeded"
    second = chat(openrouter)
    assert second.headers["Retry-After"] == "7" and second.json()["error"]["message"] == "slow down"


def test_scripted_raw_bodies(openrouter: OpenRouter) -> None:
    openrouter.script(
        {"status": 502, "body": "<html><body>Bad gateway</body></html>"},
        {"status": 200, "body": {"error": {"code": 502, "message": "Provider returned error"}}},
    )
    r = chat(openrouter)
    assert r.status_code == 502 and r.headers["Content-Type"].startswith("text/html") and "Bad gateway" in r.text
    r = chat(openrouter)
    assert r.status_code == 200 and "choices" not in r.json() and r.json()["error"]["code"] == 502


def test_error_inside_a_200_and_empty_content(openrouter: OpenRouter) -> None:
    failure = {"code": 502, "message": "Provider disconnected", "metadata": {"error_type": "provider_unavailable"}}
    openrouter.script({"content": "<file path=\"index.html\">partial", "error": failure}, {"content": ""})
    choice = chat(openrouter).json()["choices"][0]
    assert choice["finish_reason"] == "error" and choice["error"] == failure
    assert choice["message"]["content"].endswith("partial")
    empty = chat(openrouter).json()
    assert empty["choices"][0]["message"]["content"] == "" and empty["usage"]["completion_tokens"] == 0


def test_fallback_uses_the_next_model_and_reports_it(openrouter: OpenRouter) -> None:
    openrouter.script({"status": 502, "model": "sandbox/a"}, {"content": "from b", "model": "sandbox/b"})
    body = {"model": "sandbox/a", "models": ["sandbox/b"], "messages": [{"role": "user", "content": "x"}]}
    r = chat(openrouter, body)
    assert r.status_code == 200
    assert r.json()["model"] == "sandbox/b" and r.json()["choices"][0]["message"]["content"] == "from b"
    assert openrouter.requests()[-1]["attempts"] == [{"model": "sandbox/a", "status": 502},
                                                     {"model": "sandbox/b", "status": 200}]


def test_fallback_exhausted_returns_the_last_error(openrouter: OpenRouter) -> None:
    openrouter.script({"status": 503, "model": "sandbox/a"}, {"status": 429, "model": "sandbox/b"})
    body = {"models": ["sandbox/a", "sandbox/b"], "messages": [{"role": "user", "content": "x"}]}
    r = chat(openrouter, body)
    assert r.status_code == 429 and r.json()["error"]["code"] == 429


def test_pinned_entries_wait_for_their_model(openrouter: OpenRouter) -> None:
    openrouter.script({"content": "for b", "model": "sandbox/b"}, {"content": "anyone"})
    assert chat(openrouter, {"model": "sandbox/a", "messages": [{"role": "user", "content": "x"}]}).json()[
        "choices"][0]["message"]["content"] == "anyone"
    assert chat(openrouter, {"model": "sandbox/b", "messages": [{"role": "user", "content": "x"}]}).json()[
        "choices"][0]["message"]["content"] == "for b"


def test_stream_shape(openrouter: OpenRouter) -> None:
    content = "x" * 450
    openrouter.script({"content": content})
    r = chat(openrouter, user("hi", stream=True), stream=True)
    assert r.headers["Content-Type"].startswith("text/event-stream")
    comments, events, done = sse_events(r)
    assert comments[0] == ": OPENROUTER PROCESSING"
    assert done
    assert all(e["object"] == "chat.completion.chunk" for e in events)
    assert "".join(c["delta"].get("content", "") for e in events for c in e["choices"]) == content
    assert events[-2]["choices"][0]["finish_reason"] == "stop"
    assert events[-1]["choices"] == [] and events[-1]["usage"]["completion_tokens"] == 113
    assert sum(1 for e in events if e.get("usage")) == 1


def test_mid_stream_error_ends_the_stream(openrouter: OpenRouter) -> None:
    openrouter.script({"content": "partial", "error": {"code": 502, "message": "Provider disconnected"}})
    _, events, done = sse_events(chat(openrouter, user("hi", stream=True), stream=True))
    assert not done
    assert events[0]["choices"][0]["delta"]["content"] == "partial"
    assert events[-1]["error"]["code"] == 502
    assert events[-1]["choices"] == [{"index": 0, "delta": {"content": ""}, "finish_reason": "error",
                                      "native_finish_reason": "error"}]


def test_stream_errors_before_the_first_token_are_plain_http_errors(openrouter: OpenRouter) -> None:
    openrouter.script({"status": 429})
    r = chat(openrouter, user("hi", stream=True))
    assert r.status_code == 429 and r.json()["error"]["code"] == 429


def test_slow_response_times_a_client_out(openrouter: OpenRouter) -> None:
    openrouter.script({"content": "late", "delay": 2}, {"content": "prompt"})
    with pytest.raises(requests.exceptions.ReadTimeout):
        chat(openrouter, timeout=0.5)
    assert chat(openrouter).json()["choices"][0]["message"]["content"] == "prompt"


def test_slow_stream_sends_keepalive_comments(openrouter: OpenRouter) -> None:
    openrouter.script({"content": "late", "delay": 1.2})
    comments, events, done = sse_events(chat(openrouter, user("hi", stream=True), stream=True))
    assert len(comments) >= 2 and done and events[0]["choices"][0]["delta"]["content"] == "late"


def test_aborted_stream_is_cancelled_cleanly(openrouter: OpenRouter) -> None:
    openrouter.script({"content": "never read", "delay": 1.0})
    with chat(openrouter, user("hi", stream=True), stream=True) as r:
        assert next(r.iter_lines()) == b": OPENROUTER PROCESSING"
    time.sleep(1.2)  # let the server reach its next write
    assert chat(openrouter).status_code == 200
    assert "Traceback" not in openrouter.service.log()


def test_builtin_answer_is_cut_at_max_tokens(openrouter: OpenRouter) -> None:
    body = chat(openrouter, user("<brief task=\"t\" round=\"1\">Make an app</brief>", max_tokens=20)).json()
    assert body["choices"][0]["finish_reason"] == "length"
    assert len(body["choices"][0]["message"]["content"]) == 80 and body["usage"]["completion_tokens"] == 20


def test_json_schema_answers_json_text(openrouter: OpenRouter) -> None:
    schema = {"type": "object", "properties": {"files": {"type": "array"}}}
    body = user("<brief task=\"t\" round=\"1\">Make an app titled \"Hi\"</brief>",
                response_format={"type": "json_schema",
                                 "json_schema": {"name": "site", "strict": True, "schema": schema}})
    content = chat(openrouter, body).json()["choices"][0]["message"]["content"]
    files = {f["path"]: f["content"] for f in json.loads(content)["files"]}
    assert "<title>Hi</title>" in files["index.html"]


def test_script_directory_plays_files_in_name_order(services: Any, tmp_path: Any) -> None:
    (tmp_path / "02-answer.html").write_text("<file path=\"index.html\">two</file>")
    (tmp_path / "01-faults.json").write_text(json.dumps([{"status": 429, "headers": {"Retry-After": "1"}}]))
    (tmp_path / "03-more.json").write_text(json.dumps({"responses": [{"content": "three"}]}))
    svc = services.start("openrouter-dir", "sandbox", "openrouter", "--port", "0", "--script", str(tmp_path))
    o = OpenRouter(svc, svc.url)
    assert chat(o).status_code == 429
    assert chat(o).json()["choices"][0]["message"]["content"] == "<file path=\"index.html\">two</file>"
    assert chat(o).json()["choices"][0]["message"]["content"] == "three"


def test_bad_script_directory_stops_startup_with_a_clear_error(tmp_path: Any) -> None:
    import subprocess

    from sandbox.procs import deployer_argv

    (tmp_path / "01.json").write_text("{not json")
    proc = subprocess.run(deployer_argv("sandbox", "openrouter", "--script", str(tmp_path)),
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2 and "01.json: not valid JSON" in proc.stderr and "Traceback" not in proc.stderr


def test_free_model_limits(services: Any) -> None:
    svc = services.start("openrouter-free", "sandbox", "openrouter", "--port", "0", "--free-limits", "2/3")
    o = OpenRouter(svc, svc.url)
    free = {"model": "meta-llama/llama-3.3-70b-instruct:free", "messages": [{"role": "user", "content": "x"}]}
    assert [chat(o, free).status_code for _ in range(2)] == [200, 200]
    over = chat(o, free)
    assert over.status_code == 429 and "free-models-per-min" in over.json()["error"]["message"]
    assert over.headers["X-RateLimit-Limit"] == "2" and int(over.headers["Retry-After"]) >= 1
    assert chat(o).status_code == 200  # paid models are not limited
    fallback = chat(o, {**free, "models": ["openai/gpt-4o-mini"]})
    assert fallback.status_code == 200 and fallback.json()["model"] == "openai/gpt-4o-mini"
