"""receiver.intake and the pieces it writes: the body parsed once, exactly as json.loads would, and a big brief's
stored JSON built a piece at a time, byte for byte what one encode gives."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from receiver_support import make_brief

from deployer.brief import parse_brief
from receiver.intake import NotJSON, parse_json, stored_form
from receiver.outbox import Streamed
from receiver.payload import encode, encode_pieces

JSONISH = st.text(alphabet='{}[]":,\\ nu0aé—😀\t', max_size=40)


def _as_json_loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return NotJSON


@settings(max_examples=800, deadline=None)
@given(text=JSONISH, chunk=st.integers(1, 9), wrap=st.booleans())
def test_a_big_body_beyond_ascii_parses_as_json_loads_parses_it(text: str, chunk: int, wrap: bool) -> None:
    """The ASCII rewrite of a big body (each wide character as its escape, in pieces) changes no value and makes
    no invalid body valid, whatever falls on the pieces' edges (a backslash before a wide character above all)."""
    if wrap:
        text = '{"k": "' + text + '"}'
    body = bytearray(text.encode())
    try:
        got: Any = parse_json(body, ascii_over=0, text_chunk=chunk)
    except NotJSON:
        got = NotJSON
    assert got == _as_json_loads(text) and body == bytearray()


def test_the_body_buffer_is_emptied_once_read() -> None:
    body = bytearray(b'{"a": [1, "x"]}')
    assert parse_json(body, ascii_over=1 << 20) == {"a": [1, "x"]} and len(body) == 0
    body = bytearray("\ufeff{}".encode())  # a UTF-8 byte order mark, as json.loads(bytes) takes it
    assert parse_json(body, ascii_over=1 << 20) == {} and len(body) == 0


@pytest.mark.parametrize("raw, why", [
    (b'{"a": NaN}', "NaN is not JSON"), (b'{"a": 1e999}', "out of range"),
    (b'{"a": "x\\ud800"}', "unpaired surrogate (\\ud800)"), (b'{"a": "\\udc00\\ud800"}', "unpaired surrogate"),
    ('{"a": "x"} é'.encode(), "Extra data: line 1"), (b'{"a": "\\\xc3\xa9"}', "Invalid \\escape"),
    (b"\xff{}", "can't decode byte 0xff"), (b"[" * 100_000, "recursion"),
])
def test_what_is_not_strict_json_is_refused_with_its_reason(raw: bytes, why: str) -> None:
    for ascii_over in (0, 1 << 20):  # the big body's path and the small one's
        with pytest.raises(NotJSON, match=why.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")):
            parse_json(bytearray(raw), ascii_over=ascii_over)


def test_a_surrogate_pair_is_one_character_not_a_lone_surrogate() -> None:
    assert parse_json(bytearray(b'{"a": "\\ud83d\\ude00"}'), ascii_over=0) == {"a": "\U0001F600"}


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=30)


@settings(max_examples=400, deadline=None)
@given(value=JSON_VALUES, piece=st.integers(1, 16))
def test_pieces_join_to_exactly_one_encode(value: Any, piece: int) -> None:
    assert b"".join(encode_pieces(value, piece=piece)) == encode(value)


def test_a_long_string_is_never_held_whole() -> None:
    value = {"attachments": [{"name": "a.png", "url": "data:image/png;base64," + "QUJD" * 25_000}]}
    pieces = list(encode_pieces(value, piece=1000))
    assert b"".join(pieces) == encode(value) and max(map(len, pieces)) <= 2 * 1000 + 50


def test_nesting_deeper_than_the_pieces_go_is_encoded_whole() -> None:
    deep: Any = "x" * 50
    for _ in range(200):
        deep = [deep]
    assert b"".join(encode_pieces({"deep": deep}, piece=8)) == encode({"deep": deep})


def test_a_big_brief_is_stored_in_pieces_of_the_same_json() -> None:
    brief = parse_brief(make_brief(extra={"note": "é" * 10}), limits=None)
    small, big = stored_form(brief, streamed=False), stored_form(brief, streamed=True)
    assert isinstance(small, str) and isinstance(big, Streamed)
    assert b"".join(big.pieces()) == small.encode() and big.size == len(small.encode())
    assert "secret" not in json.loads(small)
