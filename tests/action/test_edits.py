"""Search/replace blocks: the shapes models write, and strict application (exactly one match, or a clear failure)."""

from __future__ import annotations

import pytest

from action.edits import EditBlock, apply_answer, parse_answer
from action.parse import ParseError

PAGE = "<html>\n<body>\n  <h1>Sales</h1>\n  <p>x</p>\n  <p>x</p>\n</body>\n</html>\n"


def block(path: str, search: str, replace: str) -> str:
    return f"{path}\n<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n"


def test_a_block_applies_once_and_marks_its_file_changed() -> None:
    answer = parse_answer("Here you go.\n\n" + block("index.html", "  <h1>Sales</h1>\n", "  <h1>Sales v2</h1>\n"))
    assert answer.edits == [EditBlock("index.html", "  <h1>Sales</h1>\n", "  <h1>Sales v2</h1>\n")]
    applied = apply_answer({"index.html": PAGE, "app.js": "x\n"}, answer)
    assert applied.files == {"index.html": PAGE.replace("Sales", "Sales v2"), "app.js": "x\n"}
    assert applied.changed == {"index.html"} and applied.failures == ()


def test_blocks_apply_in_order_on_the_text_the_earlier_ones_left() -> None:
    text = block("a.js", "one\n", "two\n") + block("a.js", "two\n", "three\n")
    applied = apply_answer({"a.js": "one\n"}, parse_answer(text))
    assert applied.files["a.js"] == "three\n" and not applied.failures


@pytest.mark.parametrize("wrapper", [
    "```html\n{b}```\n", "**{p}**\n```html\n{s}```\n", "`{p}`\n{s}", "```{p}\n{s}```\n", "{p}:\n\n{s}",
    "```html {p}\n{s}```\n",
])
def test_paths_before_fences_and_decorated_paths(wrapper: str) -> None:
    body = "<<<<<<< SEARCH\n  <h1>Sales</h1>\n=======\n  <h1>New</h1>\n>>>>>>> REPLACE\n"
    text = wrapper.format(b=f"index.html\n{body}", p="index.html", s=body)
    assert [e.path for e in parse_answer(text).edits] == ["index.html"]


def test_not_found_names_the_path_and_first_line_and_shows_the_nearby_text() -> None:
    applied = apply_answer({"index.html": PAGE}, parse_answer(block("index.html", "<h1>Sales!</h1>\n", "<h1>N</h1>\n")))
    (failure,) = applied.failures
    assert str(failure) == 'index.html: the SEARCH text beginning "<h1>Sales!</h1>" was not found in the file'
    assert "  <h1>Sales</h1>" in failure.context
    assert applied.files["index.html"] == PAGE and applied.changed == frozenset()


def test_several_matches_are_refused_with_their_lines() -> None:
    applied = apply_answer({"index.html": PAGE}, parse_answer(block("index.html", "  <p>x</p>\n", "  <p>y</p>\n")))
    (failure,) = applied.failures
    assert str(failure).startswith('index.html: the SEARCH text beginning "<p>x</p>" matches 2 times (at lines 4, 5)')
    assert applied.files["index.html"] == PAGE


def test_one_failure_leaves_the_other_blocks_applied() -> None:
    text = block("index.html", "nope\n", "x\n") + block("index.html", "  <h1>Sales</h1>\n", "  <h1>S</h1>\n")
    applied = apply_answer({"index.html": PAGE}, parse_answer(text))
    assert len(applied.failures) == 1 and "<h1>S</h1>" in applied.files["index.html"]
    assert applied.changed == {"index.html"}


def test_new_files_come_whole_or_from_an_empty_search() -> None:
    text = block("index.html", "  <h1>Sales</h1>\n", "  <h1>S</h1>\n") + '<file path="chart.js">\nchart();\n</file>\n'
    text += block("extra.css", "", "p { color: red; }\n")
    applied = apply_answer({"index.html": PAGE}, parse_answer(text))
    assert applied.files["chart.js"] == "chart();\n" and applied.files["extra.css"] == "p { color: red; }\n"
    assert applied.changed == {"index.html", "chart.js", "extra.css"} and not applied.failures


def test_a_block_for_a_missing_file_or_an_empty_search_on_an_existing_one_fails() -> None:
    text = block("gone.js", "a\n", "b\n") + block("index.html", "", "x\n")
    failures = apply_answer({"index.html": PAGE}, parse_answer(text)).failures
    assert "does not exist (files: index.html)" in str(failures[0])
    assert str(failures[1]) == "index.html: the SEARCH text is empty; copy the exact lines to replace from the file"


def test_a_block_without_a_path_after_another_is_for_the_same_file() -> None:
    text = block("a.js", "one\n", "two\n") + "```js\n<<<<<<< SEARCH\nthree\n=======\nfour\n>>>>>>> REPLACE\n```\n"
    assert [e.path for e in parse_answer(text).edits] == ["a.js", "a.js"]


def test_prose_mentioning_file_tags_next_to_blocks_is_ignored() -> None:
    text = "I changed one line; no <file> blocks were needed.\n" + block("a.js", "x\n", "y\n")
    assert parse_answer(text).files == {} and len(parse_answer(text).edits) == 1


def test_an_answer_of_whole_files_only_is_accepted() -> None:
    assert parse_answer('<file path="index.html">\n<html></html>\n</file>').files == {"index.html": "<html></html>\n"}


@pytest.mark.parametrize(("text", "message"), [
    ("I would change the heading.", "found no edit blocks"),
    ("index.html\n<<<<<<< SEARCH\n<h1>\n", "missing its ======= line"),
    ("index.html\n<<<<<<< SEARCH\n<h1>\n=======\n<h2>\n", "missing its >>>>>>> REPLACE line"),
    ("Change this please\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n", "no file path"),
])
def test_malformed_answers_are_parse_errors(text: str, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_answer(text)
