"""deployer.brief: every rule of DESIGN.md's brief table, and the helpers the receiver and the action share."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import fields
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deployer.brief import (
    MAX_ROUND,
    TASK_RULE,
    Attachment,
    BriefError,
    DataURIError,
    check_file_name,
    data_uri_size,
    parse_brief,
    parse_data_uri,
    repo_name,
)
from deployer.limits import MIB, SETTINGS, BriefLimits, LimitsError

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


def _decode_whole(payload: str) -> bytes:
    """The definition parse_data_uri follows for base64, applied to the whole payload at once."""
    compact = "".join(unquote_to_bytes(payload).decode("ascii", "replace").split())
    if "=" not in compact:
        compact += "=" * (-len(compact) % 4)
    return binascii.a2b_base64(compact, strict_mode=True)


@settings(max_examples=600, deadline=None)
@given(payload=st.text(alphabet="AQgw+/=%23DB \n\t\xa0\u00e9@", max_size=48), chunk=st.integers(3, 13))
def test_base64_decoded_in_pieces_is_decoded_as_a_whole(payload: str, chunk: int) -> None:
    """Big attachments are decoded a piece at a time (never a second copy of the whole): accepted, refused and the
    reason given exactly as one decode of the whole payload, whatever the piece size."""
    url = "data:application/octet-stream;base64," + payload
    try:
        expected: bytes | str = _decode_whole(payload)
    except binascii.Error as exc:
        expected = f"data: URI is not valid base64 ({exc})"
    except ValueError:  # a character outside ASCII: refused too, as a DataURIError rather than a bare ValueError
        expected = "data: URI is not valid base64 (it has characters outside ASCII)"
    try:
        got: bytes | str = parse_data_uri(url, chunk=chunk).data
        size: int | str = data_uri_size(url, chunk=chunk)
    except DataURIError as exc:
        got = size = str(exc)
        with pytest.raises(DataURIError):
            data_uri_size(url, chunk=chunk)
    assert got == expected
    assert size == (len(expected) if isinstance(expected, bytes) else expected)


@given(payload=st.text(alphabet="ab%20C\u00e9", max_size=30), chunk=st.integers(3, 9))
def test_percent_encoded_data_is_sized_in_pieces_exactly(payload: str, chunk: int) -> None:
    url = "data:text/plain," + payload
    assert data_uri_size(url, chunk=chunk) == len(parse_data_uri(url).data) == len(unquote_to_bytes(payload))


def test_a_large_attachment_is_sized_without_decoding_it_whole() -> None:
    raw = bytes(range(256)) * 8192  # 2 MiB: more than one piece
    url = "data:application/octet-stream;base64," + base64.b64encode(raw).decode()
    assert data_uri_size(url) == len(raw) and parse_data_uri(url).data == raw
    with pytest.raises(DataURIError, match="Only base64 data"):
        data_uri_size(url[:-100] + "@" + url[-99:])


# --- bounds: every field a brief carries has a limit, each a setting (deployer.limits) -------------------------

SMALL = BriefLimits(brief_chars=50, checks=2, check_chars=25, attachments=1, attachment_bytes=8, email_chars=30,
                    nonce_chars=10, url_chars=40, name_chars=12)


def _data_uri(size: int) -> str:
    return "data:application/octet-stream;base64," + base64.b64encode(b"x" * size).decode()


@pytest.mark.parametrize("change, field, message", [
    ({"brief": "b" * 51}, "brief", "must be at most 50 characters, not 51"),
    ({"checks": ["a", "b", "c"]}, "checks", "must be at most 2 checks, not 3"),
    ({"checks": ["ok", "c" * 26]}, "checks[1]", "must be at most 25 characters, not 26"),
    ({"checks": [{"js": "j" * 24}]}, "checks[0]", "must be at most 25 characters, not 26"),  # key and value count
    ({"attachments": [_att(), _att(name="b.png")]}, "attachments", "must be at most 1 attachments, not 2"),
    ({"attachments": [_att(url=_data_uri(9))]}, "attachments[0].url", "decodes to 9 bytes; must be at most 8 bytes"),
    ({"email": "a" * 20 + "@example.com"}, "email", "must be at most 30 characters, not 32"),
    ({"nonce": "n" * 11}, "nonce", "must be at most 10 characters, not 11"),
    ({"evaluation_url": "https://grader.example.com/" + "p" * 14}, "evaluation_url",
     "must be at most 40 characters, not 41"),
    ({"attachments": [_att(name="n" * 9 + ".png")]}, "attachments[0].name", "must be at most 12 characters"),
])
def test_each_bound_is_an_error_naming_the_field_and_its_limit(change: dict[str, Any], field: str,
                                                               message: str) -> None:
    assert errors_of(valid(**change), limits=SMALL) == {field: message}


@pytest.mark.parametrize("change", [
    {"brief": "b" * 50}, {"checks": ["a", "c" * 25]}, {"checks": [{"js": "j" * 23}]},
    {"attachments": [_att(url=_data_uri(8))]},
    {"email": "a" * 18 + "@example.com"}, {"nonce": "n" * 10}, {"evaluation_url": "https://grader.example.com/p"},
    {"attachments": [_att(name="n" * 8 + ".png")]},
])
def test_a_value_at_its_limit_passes(change: dict[str, Any]) -> None:
    parse_brief(valid(**change), limits=SMALL)


def test_without_limits_nothing_is_bounded() -> None:
    """What the action does with a brief the receiver dispatched: the receiver's limits, perhaps raised, applied."""
    big = valid(brief="b" * 100_000, checks=["c"] * 500, nonce="n" * 1000)
    assert parse_brief(big, limits=None).brief == "b" * 100_000
    assert "brief" in errors_of(big)  # the defaults refuse it


SAMPLES = Path(__file__).resolve().parents[1] / "sandbox" / "briefs"  # the graders' sample briefs


@pytest.mark.parametrize("name", ["captcha-solver.r1.json", "sum-of-sales.r1.json", "sum-of-sales.r2.json"])
def test_the_defaults_pass_what_graders_send(name: str) -> None:
    parse_brief(json.loads((SAMPLES / name).read_text()))


def test_the_defaults_pass_a_brief_with_megabytes_of_images() -> None:
    images = [_att(name=f"photo-{i}.png", url=_data_uri(3 * MIB)) for i in range(3)]
    brief = parse_brief(valid(attachments=images, checks=[f"check {i}" for i in range(20)], brief="x" * 5000))
    assert len(brief.attachments) == 3


def test_every_limit_is_a_setting_read_from_the_environment() -> None:
    assert {s.field for s in SETTINGS} == {f.name for f in fields(BriefLimits)}
    env = {s.env: "7" for s in SETTINGS}
    limits = BriefLimits.from_env(env)
    assert limits.attachment_bytes == 7 * MIB and limits.checks == 7 and limits.name_chars == 7
    assert BriefLimits.from_env({}) == BriefLimits()


@pytest.mark.parametrize("value, problem", [("many", "a whole number"), ("0", "at least 1"), ("2.5", "a whole number"),
                                            ("256", "at most 255")])
def test_a_wrong_limit_setting_names_the_variable(value: str, problem: str) -> None:
    with pytest.raises(LimitsError, match=f"BRIEF_MAX_NAME_CHARS must be {problem}"):
        BriefLimits.from_env({"BRIEF_MAX_NAME_CHARS": value})
