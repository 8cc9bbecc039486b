"""Every answer shape the parser accepts (the long ones written as models write them, in tests/fixtures/answers/),
and the junk it refuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from action.parse import ParseError, parse_files
from action.reasoning import strip_reasoning

HTML = "<!doctype html>\n<html><head><title>T</title></head><body><h1>T</h1></body></html>\n"
ANSWERS = Path(__file__).parents[1] / "fixtures" / "answers"
SITE = {p.name: p.read_text() for p in (ANSWERS / "site").iterdir()}


def test_file_blocks_with_a_preamble_and_a_think_block() -> None:
    text = (
        "<think>I should write <file path=\"wrong.html\">x</file> maybe</think>\n"
        "Sure! Here is the app.\n\n"
        f'<file path="index.html">\n{HTML}</file>\n'
        "<file path='js/app.js'>\nconsole.log(1);\n</file>\nHope this helps."
    )
    assert parse_files(text) == {"index.html": HTML, "js/app.js": "console.log(1);\n"}


def test_file_content_may_hold_fences_and_a_literal_closing_tag() -> None:
    md = "# Notes\n\n```js\nconst end = '</file>';\n```\n"
    text = f'<file path="notes.md">\n{md}</file>\n<file path="a.js">\nlet a = "</file>";\n</file>'
    assert parse_files(text) == {"notes.md": md, "a.js": 'let a = "</file>";\n'}


def test_a_fence_wrapping_a_whole_file_block_is_removed() -> None:
    text = f'<file path="index.html">\n```html\n{HTML}```\n</file>'
    assert parse_files(text) == {"index.html": HTML}


def test_unterminated_file_block_is_an_error() -> None:
    with pytest.raises(ParseError, match=r'<file path="index.html"> block has no closing'):
        parse_files('<file path="index.html">\n<html><body>cut of')


def test_later_block_for_the_same_path_wins() -> None:
    text = '<file path="a.js">\n1\n</file>\n<file path="a.js">\n2\n</file>'
    assert parse_files(text) == {"a.js": "2\n"}


@pytest.mark.parametrize(
    "label",
    ["```html index.html", "```index.html", '```html title="index.html"', "```html:index.html"],
)
def test_fence_naming_its_path_in_the_info_string(label: str) -> None:
    text = f"Here you go:\n\n{label}\n{HTML}```\n\n```css style.css\nbody {{ margin: 0 }}\n```\n"
    assert parse_files(text) == {"index.html": HTML, "style.css": "body { margin: 0 }\n"}


@pytest.mark.parametrize("label", ["path: app.js", "**app.js**", "### app.js", "`app.js`:", "File: app.js"])
def test_fence_named_by_the_line_before_it(label: str) -> None:
    text = f"Files:\n\n{label}\n```javascript\nconsole.log('x');\n```\n"
    assert parse_files(text) == {"app.js": "console.log('x');\n"}


def test_one_unnamed_html_fence_is_index_html() -> None:
    text = f"Here is the page:\n```html\n{HTML}```\nEnjoy."
    assert parse_files(text) == {"index.html": HTML}


def test_longer_fence_holds_a_shorter_one() -> None:
    readme = "Use:\n```bash\nmake\n```\n"
    text = f"````markdown docs/usage.md\n{readme}````\n"
    assert parse_files(text) == {"docs/usage.md": readme}


def test_bare_html_document_after_prose() -> None:
    text = "Certainly. The page follows.\n" + HTML + "Let me know!"
    assert parse_files(text) == {"index.html": HTML}


def test_html_without_doctype() -> None:
    assert parse_files("<html><body>Hi</body></html>") == {"index.html": "<html><body>Hi</body></html>\n"}


@pytest.mark.parametrize(
    "payload",
    [
        {"files": {"index.html": HTML, "app.js": "1;"}},
        {"files": [{"path": "index.html", "content": HTML}, {"path": "app.js", "content": "1;"}]},
        {"index.html": HTML, "app.js": "1;"},
    ],
)
def test_json_object_of_files(payload: object) -> None:
    assert parse_files(json.dumps(payload)) == {"index.html": HTML, "app.js": "1;"}


def test_json_object_inside_a_fence() -> None:
    text = "```json\n" + json.dumps({"files": {"index.html": HTML}}) + "\n```"
    assert parse_files(text) == {"index.html": HTML}


def test_parent_and_workflow_paths_are_parsed_for_validation_to_judge() -> None:
    text = "```yaml .github/workflows/x.yml\non: push\n```\n**../evil.js**\n```js\n1\n```\n"
    assert parse_files(text) == {".github/workflows/x.yml": "on: push\n", "../evil.js": "1\n"}


@pytest.mark.parametrize(
    "junk",
    [
        "",
        "I cannot help with that.",
        "```python\nprint('no path')\n```",
        '{"answer": 42}',
        "<think>thinking about <html> only</think>",
    ],
)
def test_junk_is_a_clear_parse_error(junk: str) -> None:
    with pytest.raises(ParseError, match="found no files"):
        parse_files(junk)


def test_crlf_answers_are_normalised() -> None:
    text = '<file path="a.txt">\r\nline1\r\nline2\r\n</file>'
    assert parse_files(text) == {"a.txt": "line1\nline2\n"}


def test_empty_path_is_an_error() -> None:
    with pytest.raises(ParseError, match="empty path"):
        parse_files('<file path="">x</file>')


def test_a_single_json_file_is_not_taken_for_a_file_map() -> None:
    data = '{"title": "Sales", "unit": "USD"}'
    assert parse_files(f"```json data.json\n{data}\n```") == {"data.json": data + "\n"}
    with pytest.raises(ParseError, match="found no files"):
        parse_files(data)


def test_name_attribute_is_accepted_for_path() -> None:
    assert parse_files('<file name="a.css" >\nb{}\n</file>') == {"a.css": "b{}\n"}


# --- the shapes real models write (issue 15) ---

@pytest.mark.parametrize("name", ["files-numbered-bold.md", "files-here-is.md", "files-heading.md"])
def test_fences_labelled_as_models_label_them(name: str) -> None:
    # "1. **app.js**", "Here is `app.js`:", "#### app.js (logic)"; the answers also hold a shell snippet and, in
    # files-here-is.md, a later snippet introduced by "The parsing step looks like this in `app.js`:", neither a file
    assert parse_files((ANSWERS / name).read_text()) == SITE


@pytest.mark.parametrize("label", ["1. **app.js**", "2) `app.js`", "#### app.js (logic)", "### `app.js` - the logic",
                                   "Here is `app.js`:", "And here is **app.js**, which reads `data.csv`:"])
def test_each_label_names_the_fence_after_it(label: str) -> None:
    assert parse_files(f"Intro.\n\n{label}\n\n```javascript\nrun();\n```\n") == {"app.js": "run();\n"}


@pytest.mark.parametrize("sentence", [
    "The rows of `data.csv` are parsed like this:",  # the language says it is a script, not data.csv
    "Run it with `python3 -m http.server`:",  # not a path
    "Here is the idea, see `app.js`.",  # a sentence that does not introduce what follows
])
def test_a_sentence_that_does_not_name_the_fence_adds_no_file(sentence: str) -> None:
    text = f"**index.html**\n```html\n{HTML}```\n\n{sentence}\n\n```javascript\nconst rows = 1;\n```\n"
    assert parse_files(text) == {"index.html": HTML}


def test_a_draft_before_an_orphan_closing_think_tag_never_becomes_a_file() -> None:
    # the reasoning drafts index.html in the answer format itself, and the provider dropped the opening <think>
    text = (ANSWERS / "files-orphan-think.md").read_text()
    assert '<file path="index.html">' in text.split("</think>")[0]
    files = parse_files(text)
    assert files == SITE and "(draft)" not in files["index.html"]


def test_an_orphan_closing_tag_after_text_on_its_line_ends_the_reasoning_too() -> None:
    draft = 'Maybe a script too: <file path="app.js">\nrun();\n</file>\nNo, not needed.</think>\n'
    assert parse_files(f'{draft}<file path="index.html">\n{HTML}</file>') == {"index.html": HTML}


def test_an_answer_cut_off_while_thinking_has_no_files() -> None:
    with pytest.raises(ParseError, match="found no files"):
        parse_files(f'<think>\nFirst a draft:\n<file path="index.html">\n{HTML}</file>\nNow')


def test_a_file_that_mentions_the_tags_keeps_its_content() -> None:
    chat = 'const [thought, reply] = text.split("</think>");\nshow(reply.replace("<think>", ""));\n'
    text = f'<file path="index.html">\n{HTML}</file>\n<file path="chat.js">\n{chat}</file>\n'
    assert parse_files(text) == {"index.html": HTML, "chat.js": chat}
    assert strip_reasoning(text) == text


def test_tags_inside_an_open_file_block_are_that_files_text() -> None:
    notes = ("DeepSeek R1 ends its reasoning with </think>\nand then answers. Others wrap it:\n<thinking>\n...\n"
             "</thinking>\nor never close it:\n<think>\n")
    text = f'<file path="notes.md">\n{notes}</file>\n<file path="index.html">\n{HTML}</file>\n'
    assert parse_files(text) == {"notes.md": notes, "index.html": HTML}
