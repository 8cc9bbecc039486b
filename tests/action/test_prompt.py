"""The prompt contract: brief, checks verbatim, attachments inline or as image parts, and never the secret."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest

from action import prompt
from action.prompt import build_messages, repair_messages
from action.validate import Problem, ProblemKind
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
    return user["content"][-1]["text"]  # the brief's part: images come first


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
    assert parts[:2] == [  # each image first, after a line naming it
        {"type": "text", "text": "Attachment logo.png (image/png), committed as logo.png:"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64," + base64.b64encode(PNG).decode()}}]
    assert parts[2:] == [{"type": "text", "text": text}]


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
    assert "a" * 10 + "\n[truncated: showing the first 10 of 30 characters (30 bytes); the whole file is committed " \
        'as a.txt. Read it when the page runs (`fetch("a.txt")`) or in `build.py` for all of it, and never copy ' \
        "figures from the part shown.]\n</attachment>" in text
    assert "\n" + "b" * 5 + "\n[truncated: showing the first 5 of 30" in text
    assert "\n\n[truncated: showing the first 0 of 30 characters (30 bytes); the whole file is committed as c.txt." \
        in text


def test_large_images_are_named_but_not_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prompt, "MAX_IMAGE_BYTES", 10)
    messages = build_messages(make_brief())
    assert len(messages[-1]["content"]) == 1  # no image part, and no label for one
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
    assert plain.startswith(prompt.load("system.md")) and "<attachment>" not in plain
    ci = build_messages(make_brief(brief="Add a GitHub Actions workflow that runs the tests.", attachments=[]))
    assert ".github/workflows/" in ci[0]["content"] and "build.py" not in ci[0]["content"]
    xlsx = make_brief(brief="Convert data.xlsx to CSV and chart it.", attachments=[])
    assert "# /// script" in build_messages(xlsx)[0]["content"]
    assert "# /// script" in build_messages(make_brief())[0]["content"]  # data whose figures a build step may write
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


def test_each_kind_of_problem_is_told_in_its_own_words() -> None:
    problems: list[Problem | str] = [
        Problem("typed-in figure", "check #total passed, but ...", ProblemKind.COPIED),
        Problem("browser check", "check #total -> failed", ProblemKind.CHECK),
        "index.html: the file is empty",
    ]
    text = last_text(repair_messages(make_brief(), "answer", problems))
    invalid = text.index("Your previous answer could not be published. These problems were found:\n\n<problems>\n"
                         "- index.html: the file is empty\n</problems>")
    check = text.index("These checks failed:\n\n<problems>\n- browser check: check #total -> failed\n</problems>")
    copied = text.index("These figures are typed into the page instead of computed.")
    assert invalid < check < copied and text.count("could not be published") == 1
    assert "graders use other data and other inputs" in text and "- typed-in figure: check #total passed" in text
    only_checks = last_text(repair_messages(make_brief(), "answer", problems[1:2]))
    assert "could not be published" not in only_checks and "These checks failed" in only_checks


def test_a_cut_csv_is_summarised_with_its_rows_columns_and_both_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prompt, "MAX_ATTACHMENT_CHARS", 300)
    csv_text = "day,region,sales\n" + "".join(f"2025-01-{d:02d},North,{d}.50\n" for d in range(1, 31))
    attachments = [{"name": "sales.csv", "url": "data:text/csv;base64," + base64.b64encode(csv_text.encode()).decode()}]
    text = last_text(build_messages(make_brief(attachments=attachments)))
    body = text.split('<attachment name="sales.csv" media-type="text/csv">\n', 1)[1].split("\n</attachment>", 1)[0]
    lines = body.splitlines()
    assert lines[0] == "day,region,sales" and lines[1] == "2025-01-01,North,1.50"
    cut = next(i for i, line in enumerate(lines) if line.startswith("[truncated: "))
    assert lines[cut] == (f"[truncated: sales.csv has 30 rows after its header ({len(csv_text)} bytes, 3 columns: day, "
                          f"region, sales); shown here: the first {cut - 1} rows, then the last 5:]")
    assert lines[cut + 1:cut + 6] == [f"2025-01-{d:02d},North,{d}.50" for d in range(26, 31)]
    assert lines[-1].startswith('[The whole file is committed as sales.csv. Read it when the page runs (`fetch("sales'
                                '.csv")`)') and "never from the rows shown here" in lines[-1]
    assert len("\n".join(lines[:cut] + lines[cut + 1:cut + 6])) <= 300


def test_a_cut_json_says_what_its_top_level_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prompt, "MAX_ATTACHMENT_CHARS", 40)
    data = json.dumps({"meta": {"source": "x", "year": 2025}, "rows": [{"id": i, "value": i * 2} for i in range(50)],
                       "total": 2450})
    attachments = [{"name": "data.json", "url": "data:application/json;base64," + base64.b64encode(
        data.encode()).decode()}]
    text = last_text(build_messages(make_brief(attachments=attachments)))
    assert data[:40] + f"\n[truncated: showing the first 40 of {len(data)} characters ({len(data)} bytes); the whole " \
        'file is committed as data.json. It is a JSON object with 3 keys: "meta" (an object with 2 keys), "rows" (an ' \
        'array of 50 objects: id, value), "total" (a number). Read it when the page runs' in text


def test_the_system_prompt_says_compute_never_copy_and_holds_no_samples_figure() -> None:
    system = build_messages(make_brief())[0]["content"]
    assert "never typed in, not even the value a check expects" in system
    assert "Graders also run each check with other data and inputs" in system
    edit = build_messages(make_brief(round=2, attachments=[]), {"index.html": "x"}, edits=True)[0]["content"]
    assert "never typed in, not even the value a check expects" in edit  # an edit round keeps the rule
    samples = Path(__file__).parents[2] / "sandbox" / "briefs"
    for path in samples.glob("*.json"):
        for check in json.loads(path.read_text())["checks"]:
            for number in re.findall(r"\d+\.\d+|\d{3,}", json.dumps(check)):
                assert number not in system, f"{path.name}: {number}"


def test_attachments_no_parser_can_read_are_cut_as_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prompt, "MAX_ATTACHMENT_CHARS", 20)
    files = {"wide.csv": b'a,b\n1,"' + b"x" * 200_000 + b'"\n', "deep.json": b"[" * 10_000 + b"]" * 10_000}
    attachments = [{"name": n, "url": "data:text/plain;base64," + base64.b64encode(d).decode()}
                   for n, d in files.items()]
    text = last_text(build_messages(make_brief(attachments=attachments)))
    assert '[truncated: showing the first 20 of 200009 characters (200009 bytes); the whole file is committed as ' \
           "wide.csv. Read it" in text
    assert "committed as deep.json. It is not valid JSON as a whole. Read it" in text


def test_each_round_gets_only_the_system_sections_it_needs() -> None:
    plain = prompt.Sections()
    assert prompt.system_sections("files", plain, attachments=True) == [
        "system.md", "attachments.md", "files.md", "checked.md", "whole-site.md"]
    # An edit round: no guidance for writing whole files, nothing about attachments it does not have.
    assert prompt.system_sections("edit", plain, attachments=False) == ["system.md", "edit.md", "checked.md"]
    assert prompt.system_sections("rewrite", prompt.EVERY_SECTION, attachments=False) == [
        "system.md", "rewrite.md", "checked.md", "whole-site.md", "build-step.md", "workflows.md"]


def test_an_edit_request_says_nothing_twice_and_nothing_a_change_does_not_need() -> None:
    existing = {"index.html": "<html><body><h1>v1</h1></body></html>"}
    messages = build_messages(make_brief(round=2, attachments=[]), existing, edits=True)
    system, text = messages[0]["content"], last_text(messages)
    assert system.count("SEARCH") >= 2 and "SEARCH/REPLACE" in text  # the stand-in's (and a model's) cue
    for fresh in ("well-known CDN", "errors in the console", "first `<script>` element", "<attachment>"):
        assert fresh not in system
    assert "already published" not in text and "earlier checks must still pass" in system
    assert len(system) < len(prompt.system_prompt("files", prompt.Sections())) * 0.65
    # The system prompt is the stable part: the same for every request of the round, repairs included.
    again = build_messages(make_brief(round=2, attachments=[]), {**existing, "app.js": "run();"}, edits=True)
    assert again[0]["content"] == system


def test_an_earlier_attachment_is_shown_by_its_shape() -> None:
    rows = "".join(f"2025-01-{d:02d},North,{d}.50\n" for d in range(1, 31))
    data = ("day,region,sales\n" + rows).encode()
    text = last_text(build_messages(make_brief(round=2, attachments=[]), {"index.html": "x"},
                                    earlier_attachments=[("sales.csv", 1, data), ("tiny.csv", 1, b"a\n1\n")],
                                    edits=True))
    opening = '<attachment name="sales.csv" media-type="text/csv" round="1">\n'
    body = text.split(opening, 1)[1].split("\n</attachment>")[0]
    assert body.splitlines() == [
        "day,region,sales", "2025-01-01,North,1.50",
        f"[truncated: sales.csv has {len(data)} bytes, 30 rows after its header. It is in the repository, read-only: "
        "the code reads it whole at run time, never copy figures from it.]"]
    assert '<attachment name="tiny.csv" media-type="text/csv" round="1">\na\n1\n\n</attachment>' in text
