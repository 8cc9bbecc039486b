"""deployer.brief: every rule of DESIGN.md's brief table, and the helpers the receiver and the action share."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from deployer.brief import (
    MAX_ROUND,
    TASK_RULE,
    Attachment,
    BriefError,
    DataURIError,
    check_file_name,
    parse_brief,
    parse_data_uri,
    repo_name,
)

CSV = b"a,b\n1,2\n"


def valid(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "email": "student@example.com", "secret": "s3cret", "task": "sum-of-sales_1.v2", "round": 1,
        "nonce": "ab12-cd34", "brief": "Build a page.", "evaluation_url": "https://grader.example.com/notify",
        "checks": ["has a title", {"js": "document.title !== ''"}],
        "attachments": [{"name": "data.csv", "url": "data:text/csv;base64," + base64.b64encode(CSV).decode()}],
    }
    for key, value in overrides.items():
        if value is _MISSING:
            data.pop(key)
        else:
            data[key] = value
    return data


_MISSING = object()


def errors_of(data: object, **kwargs: Any) -> dict[str, str]:
    with pytest.raises(BriefError) as exc:
        parse_brief(data, **kwargs)
    return {e.field: e.message for e in exc.value.errors}


def test_a_valid_brief_parses_with_every_field() -> None:
    brief = parse_brief(valid())
    assert (brief.email, brief.task, brief.round, brief.nonce) == ("student@example.com", "sum-of-sales_1.v2", 1,
                                                                   "ab12-cd34")
    assert brief.secret == "s3cret" and brief.repo_name == "sum-of-sales_1.v2"
    assert brief.attachments == [Attachment("data.csv", valid()["attachments"][0]["url"])]
    assert brief.attachments[0].decode().data == CSV


def test_optional_lists_default_to_empty() -> None:
    brief = parse_brief(valid(checks=_MISSING, attachments=_MISSING))
    assert brief.checks == [] and brief.attachments == []
    assert parse_brief(valid(checks=None, attachments=None)).checks == []


def test_unknown_fields_are_kept_and_the_secret_never_leaves() -> None:
    brief = parse_brief(valid(deadline="tomorrow", labels=["a"]))
    public = brief.public_dict()
    assert public["deadline"] == "tomorrow" and public["labels"] == ["a"]
    assert "secret" not in public and "s3cret" not in repr(brief) and "s3cret" not in str(public)
    assert set(public) >= {"email", "task", "round", "nonce", "brief", "checks", "evaluation_url", "attachments"}


def test_not_an_object() -> None:
    for data, kind in (([], "array"), ("x", "string"), (1, "number"), (None, "null"), (True, "boolean")):
        assert errors_of(data) == {"(body)": f"must be a JSON object, not {kind}"}


def test_every_wrong_field_is_reported_at_once() -> None:
    assert set(errors_of({})) == {"email", "secret", "task", "round", "nonce", "brief", "evaluation_url"}


@pytest.mark.parametrize("value", ["plain", "a@b", "a b@c.d", "@b.c", 7])
def test_email_must_look_like_an_address(value: object) -> None:
    assert "email" in errors_of(valid(email=value))


def test_email_required() -> None:
    assert errors_of(valid(email=_MISSING)) == {"email": "is required"}


@pytest.mark.parametrize("value", [_MISSING, "", 5])
def test_secret_required_string(value: object) -> None:
    assert "secret" in errors_of(valid(secret=value))


def test_secret_optional_for_the_action() -> None:
    assert parse_brief(valid(secret=_MISSING), require_secret=False).secret is None


@pytest.mark.parametrize("value", ["a", "A.b_c-9", "t" * 100, "..a", ".hidden"])
def test_task_accepts_repository_names(value: str) -> None:
    assert parse_brief(valid(task=value)).task == value


@pytest.mark.parametrize("value", ["", ".", "..", "t" * 101, "my task", "a/b", "ünï", "tab\t", 3])
def test_task_rejects_anything_else_unchanged(value: object) -> None:
    assert errors_of(valid(task=value)) == {"task": TASK_RULE}


def test_repo_name_is_the_task_or_an_error() -> None:
    assert repo_name("abc") == "abc"
    with pytest.raises(BriefError):
        repo_name("a b")


@pytest.mark.parametrize("value, message", [
    (0, "must be 1 or more"), (-3, "must be 1 or more"), ("1", "must be an integer, not string"),
    (1.0, "must be an integer, not number"), (True, "must be an integer, not boolean"),
    (MAX_ROUND + 1, f"must be at most {MAX_ROUND}"), (_MISSING, "is required"),
])
def test_round_is_a_positive_integer(value: object, message: str) -> None:
    assert errors_of(valid(round=value)) == {"round": message}


def test_round_upper_bound_itself_is_fine() -> None:
    assert parse_brief(valid(round=MAX_ROUND)).round == MAX_ROUND


@pytest.mark.parametrize("value", [_MISSING, "", "   ", 12, "two\nlines", "nul\x00"])
def test_nonce_is_a_one_line_string(value: object) -> None:
    assert "nonce" in errors_of(valid(nonce=value))


@pytest.mark.parametrize("value", [_MISSING, "", " \n ", ["text"]])
def test_brief_text_required_non_empty(value: object) -> None:
    assert "brief" in errors_of(valid(brief=value))


def test_non_string_field_names_its_json_type() -> None:
    assert errors_of(valid(brief=["text"])) == {"brief": "must be a string, not array"}


@pytest.mark.parametrize("value, field", [
    ("title", "checks"), ({"js": "x"}, "checks"), ([1], "checks[0]"), (["ok", {}], "checks[1]"),
    ([{"js": 5}], "checks[0]"), ([None], "checks[0]"),
])
def test_checks_are_strings_or_string_objects(value: object, field: str) -> None:
    assert field in errors_of(valid(checks=value))


@pytest.mark.parametrize("value", [_MISSING, "", "ftp://x.org/a", "grader.example.com/notify", "http://", 5,
                                   "javascript:alert(1)"])
def test_evaluation_url_is_http_or_https_with_a_host(value: object) -> None:
    assert "evaluation_url" in errors_of(valid(evaluation_url=value))


def test_evaluation_url_http_is_fine() -> None:
    assert parse_brief(valid(evaluation_url="http://127.0.0.1:8001/notify")).evaluation_url.startswith("http://")


def _att(name: object = "a.png", url: object = "data:image/png;base64,iVBORw0KGgo=") -> dict[str, object]:
    return {"name": name, "url": url}


@pytest.mark.parametrize("value, field", [
    ("a.png", "attachments"), ({"name": "a"}, "attachments"), (["a.png"], "attachments[0]"),
    ([_att(name=None)], "attachments[0].name"), ([_att(name="")], "attachments[0].name"),
    ([_att(name="dir/a.png")], "attachments[0].name"), ([_att(name="..")], "attachments[0].name"),
    ([_att(name="a\\b")], "attachments[0].name"), ([_att(name="x" * 256)], "attachments[0].name"),
    ([_att(name=".git")], "attachments[0].name"), ([_att(name=".GIT")], "attachments[0].name"),
    ([_att(name="a\nb")], "attachments[0].name"), ([_att(), _att()], "attachments[1].name"),
    ([_att(url=None)], "attachments[0].url"), ([_att(url="https://x.org/a.png")], "attachments[0].url"),
    ([_att(url="data:image/png;base64")], "attachments[0].url"), ([_att(url="data:png;base64,AA==")],
                                                                  "attachments[0].url"),
    ([_att(url="data:image/png;base64,@@@@")], "attachments[0].url"),
])
def test_attachments_are_named_data_uris(value: object, field: str) -> None:
    assert field in errors_of(valid(attachments=value))


def test_check_file_name() -> None:
    assert check_file_name("report 2025.csv") is None
    assert check_file_name(".") and check_file_name("a/b") and check_file_name("")


@pytest.mark.parametrize("url, media, data", [
    ("data:text/plain;base64,aGk=", "text/plain", b"hi"),
    ("data:,hello%20world", "text/plain", b"hello world"),
    ("data:;base64,aGk=", "text/plain", b"hi"),
    ("data:text/csv;charset=utf-8,a%2Cb", "text/csv", b"a,b"),
    ("data:image/png;base64,aGVs\nbG8=", "image/png", b"hello"),
    ("DATA:Text/Plain;BASE64,aGk=", "text/plain", b"hi"),  # the scheme and parameters in any case
    ("data:text/plain;base64,aGVsbG8", "text/plain", b"hello"),  # padding left out, as browsers accept
    ("data:text/plain;base64,aGk", "text/plain", b"hi"),
])
def test_parse_data_uri(url: str, media: str, data: bytes) -> None:
    parsed = parse_data_uri(url)
    assert (parsed.media_type, parsed.data) == (media, data)


@pytest.mark.parametrize("url", ["http://x", "data:text/plain;base64", "data:nosubtype,x",
                                 "data:text/plain;base64,aGk==", "data:text/plain;base64,a", "data:;base64,a-b_"])
def test_parse_data_uri_rejects(url: str) -> None:
    with pytest.raises(DataURIError):
        parse_data_uri(url)
