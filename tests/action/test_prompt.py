"""The prompt contract: brief, checks verbatim, attachments inline or as image parts, and never the secret."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest

from action import prompt
from action.prompt import build_messages, repair_messages
from deployer.brief import Brief, parse_brief

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
SECRET = "brief-secret-4f9a1c"


def make_brief(**overrides: Any) -> Brief:
    data: dict[str, Any] = {
        "email": "student@example.com", "secret": SECRET, "task": "sum-of-sales", "round": 1,
        "nonce": "n-1", "brief": "Publish a page that sums sales.csv.\nShow the total in #total.",
        "evaluation_url": "http://127.0.0.1:9/notify",
        "checks": ["Repo has MIT license", {"js": "document.title === 'Sales'"}, "line one\nline two"],
        "attachments": [
            {"name": "sales.csv", "url": "data:text/csv;base64," + base64.b64encode(b"region,sales\nn,10\n").decode()},
            {"name": "logo.png", "url": "data:image/png;base64," + base64.b64encode(PNG).decode()},
            {"name": "notes.txt", "url": "data:,hello%20world"},
            {"name": "doc.pdf", "url": "data:application/pdf;base64,JVBERi0xLjQK"},
        ],
    }
    data.update(overrides)
    return parse_brief(data)


class NoSecret:
    """A Brief stand-in whose secret may not be touched."""

    def __init__(self, brief: Brief):
        self._brief = brief

    def __getattr__(self, name: str) -> Any:
        if name == "secret":
            raise AssertionError("the prompt read Brief.secret")
        return getattr(self._brief, name)


def last_text(messages: list[dict[str, Any]]) -> str:
    user = [m for m in messages if m["role"] == "user"][-1]
    return user["content"][0]["text"]


def test_messages_follow_the_contract() -> None:
    messages = build_messages(make_brief())
    assert [m["role"] for m in messages] == ["system", "user"]
    text = last_text(messages)
    assert '<brief task="sum-of-sales" round="1">\nPublish a page that sums sales.csv.\nShow the total in #total.\n' \
           "</brief>" in text
    checks = re.search(r"<checks>\n(.*?)\n</checks>", text, re.DOTALL)
    assert checks is not None
    assert checks.group(1).split("\n") == [
        "Repo has MIT license", '{"js":"document.title === \'Sales\'"}', '"line one\\nline two"',
    ]
    assert '<attachment name="sales.csv" media-type="text/csv">\nregion,sales\nn,10\n\n</attachment>' in text
    assert '<attachment name="notes.txt" media-type="text/plain">\nhello world\n</attachment>' in text
    assert '<attachment name="logo.png" media-type="image/png"/>' in text
    assert '<attachment name="doc.pdf" media-type="application/pdf"/>' in text
    parts = messages[-1]["content"]
    assert parts[0]["type"] == "text"
    assert parts[1:] == [{"type": "image_url", "image_url": {"url": "data:image/png;base64," +
                                                              base64.b64encode(PNG).decode()}}]


def test_system_prompt_asks_for_file_blocks_and_encodes_the_grading_rules() -> None:
    system = build_messages(make_brief())[0]["content"]
    for phrase in ('<file path="index.html">', "static HTML", "exactly", "25000000", "named file",
                   "LICENSE", "README.md", "relative"):
        assert phrase in system


def test_the_secret_is_never_read_nor_sent() -> None:
    brief = make_brief()
    assert brief.secret == SECRET
    messages = build_messages(NoSecret(brief))  # type: ignore[arg-type]
    repaired = repair_messages(NoSecret(brief), "answer", ["index.html: is missing"])  # type: ignore[arg-type]
    assert SECRET not in json.dumps(messages) and SECRET not in json.dumps(repaired)


def test_text_attachments_are_truncated_with_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prompt, "MAX_ATTACHMENT_CHARS", 10)
    monkeypatch.setattr(prompt, "MAX_TEXT_ATTACHMENTS_CHARS", 15)
    attachments = [
        {"name": "a.txt", "url": "data:text/plain," + "a" * 30},
        {"name": "b.txt", "url": "data:text/plain," + "b" * 30},
        {"name": "c.txt", "url": "data:text/plain," + "c" * 30},
    ]
    text = last_text(build_messages(make_brief(attachments=attachments)))
    assert "a" * 10 + "\n[truncated: showing the first 10 of 30 characters; the whole file is committed as a.txt]" \
        in text
    assert "\n" + "b" * 5 + "\n[truncated: showing the first 5 of 30" in text
    assert "\n\n[truncated: showing the first 0 of 30 characters; the whole file is committed as c.txt]" in text


def test_large_images_are_named_but_not_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prompt, "MAX_IMAGE_BYTES", 10)
    messages = build_messages(make_brief())
    assert len(messages[-1]["content"]) == 1
    assert f"(logo.png is {len(PNG)} bytes, too large to show; it is still committed.)" in last_text(messages)


def test_utf8_octet_stream_is_shown_as_text_and_binary_is_not() -> None:
    attachments = [
        {"name": "data.json", "url": "data:application/octet-stream;base64," + base64.b64encode(b'{"a": 1}').decode()},
        {"name": "blob.bin", "url": "data:application/octet-stream;base64,AAEC/w=="},
        {"name": "pic.svg", "url": "data:image/svg+xml,%3Csvg%2F%3E"},
    ]
    text = last_text(build_messages(make_brief(attachments=attachments)))
    assert '<attachment name="data.json" media-type="application/octet-stream">\n{"a": 1}\n</attachment>' in text
    assert '<attachment name="blob.bin" media-type="application/octet-stream"/>' in text
    assert '<attachment name="pic.svg" media-type="image/svg+xml">\n<svg/>\n</attachment>' in text


def test_attachment_names_are_escaped_in_attributes() -> None:
    attachments = [{"name": 'a"b&c.txt', "url": "data:,x"}]
    assert '<attachment name="a&quot;b&amp;c.txt" media-type="text/plain">' in last_text(
        build_messages(make_brief(attachments=attachments)))


def test_repair_lists_problems_and_repeats_brief_and_checks() -> None:
    brief = make_brief()
    messages = repair_messages(brief, "<file path=\"../x.js\">1</file>", ["../x.js: the path contains '..'"])
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[2]["content"] == '<file path="../x.js">1</file>'
    text = last_text(messages)
    assert "<problems>\n- ../x.js: the path contains '..'\n</problems>" in text
    assert "whole" in text and "<file" not in text
    assert '<brief task="sum-of-sales" round="1">' in text and "<checks>\nRepo has MIT license" in text
    assert '<attachment name="sales.csv" media-type="text/csv"/>' in text and "region,sales" not in text


def test_user_messages_hold_no_file_tags_in_round_one() -> None:
    assert "<file" not in last_text(build_messages(make_brief()))


def test_later_rounds_carry_the_published_files() -> None:
    brief = make_brief(round=2, attachments=[])
    existing = {"index.html": "<html><body>v1</body></html>", "app.js": "run();"}
    text = last_text(build_messages(brief, existing))
    assert text.startswith("Update the site for this brief.")
    assert "keep\neverything that already works" in text and "<earlier-checks>" not in text
    assert text.index('<file path="app.js">\nrun();\n</file>') < text.index('<file path="index.html">')
    repaired = last_text(repair_messages(brief, "x", ["p"], existing)[:2])
    assert '<file path="index.html">\n<html><body>v1</body></html>\n</file>' in repaired


def test_earlier_checks_come_before_the_brief() -> None:
    brief = make_brief(round=2, attachments=[])
    text = last_text(build_messages(brief, {"index.html": "x"}, ["#total shows 10", {"js": "1 === 1"}]))
    assert '<earlier-checks>\n#total shows 10\n{"js":"1 === 1"}\n</earlier-checks>\n<brief task=' in text
    repaired = last_text(repair_messages(brief, "x", ["p"], {"index.html": "x"}, ["#total shows 10"])[:2])
    assert "<earlier-checks>\n#total shows 10\n</earlier-checks>" in repaired


def test_the_system_prompt_holds_only_the_sections_the_brief_needs() -> None:
    plain = build_messages(make_brief(attachments=[]))[0]["content"]
    assert "build.py" not in plain and ".github/workflows/" not in plain
    assert prompt.load("system.md").split("$answer_format")[0] in plain
    ci = build_messages(make_brief(brief="Add a GitHub Actions workflow that runs the tests.", attachments=[]))
    assert ".github/workflows/" in ci[0]["content"] and "build.py" not in ci[0]["content"]
    xlsx = make_brief(brief="Convert data.xlsx to CSV and chart it.", attachments=[])
    assert "# /// script" in build_messages(xlsx)[0]["content"]
    # A site that already has a build step keeps the section in later rounds, whatever the brief says.
    later = build_messages(make_brief(round=2, attachments=[]), {"index.html": "x", "build.py": "print()"}, edits=True)
    assert "# /// script" in later[0]["content"] and "SEARCH" in later[0]["content"]
    assert len(plain) < len(prompt.system_prompt()) * 0.6  # every section: what round 1 used to send


def test_an_edit_round_outlines_the_files_it_does_not_need_whole() -> None:
    body = "".join(f"function f{i}() {{\n  return {i};\n}}\n" for i in range(50))
    existing = {"index.html": "<html><body><h1>v1</h1></body></html>", "app.js": body}
    messages = build_messages(make_brief(round=2, attachments=[]), existing, edits=True, shown={"index.html"})
    text = last_text(messages)
    assert '<file path="index.html">' in text and '<file path="app.js">' not in text
    block = re.search(r'<outline path="app.js" lines="150">\n(.*?)\n</outline>', text, re.S)
    assert block is not None and block.group(1).startswith("function f0() {\n...\nfunction f1() {")
    # The stable part first: the brief and checks before the published files (prompt caching).
    assert text.index("<brief ") < text.index("<checks>") < text.index('<file path="index.html">')
    # A rewrite (not an edit round) sends every file whole, with the rewrite format.
    whole = build_messages(make_brief(round=2, attachments=[]), existing, shown={"index.html"})
    assert '<file path="app.js">' in last_text(whole) and "<outline" not in last_text(whole)
    assert "Files you do not send stay exactly as they are" in whole[0]["content"]
