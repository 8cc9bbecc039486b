"""Search/replace blocks: the shapes models write (answers in tests/fixtures/answers/, against the published site in
site/), and application: exactly one match (exact first, relaxed only then), or a failure showing the nearest text."""

from __future__ import annotations

from pathlib import Path

import pytest

from action.edits import EditBlock, apply_answer, parse_answer, resolve_path
from action.parse import ParseError

PAGE = "<html>\n<body>\n  <h1>Sales</h1>\n  <p>x</p>\n  <p>x</p>\n</body>\n</html>\n"
ANSWERS = Path(__file__).parents[1] / "fixtures" / "answers"
SITE = {p.name: p.read_text() for p in (ANSWERS / "site").iterdir()}
COUNT_LINE = '    <p>Regions: <span id="region-count">0</span></p>\n'
COUNT_JS = '  document.getElementById("region-count").textContent = String(rows.length);\n'


def answer(name: str) -> str:
    return (ANSWERS / name).read_text()


def with_count() -> dict[str, str]:
    """The site as the round-2 change "show the number of regions" leaves it."""
    total_line = '    <p>Total sales: <span id="total-sales">0</span></p>\n'
    total_js = '  document.getElementById("total-sales").textContent = total.toFixed(2);\n'
    return {**SITE, "index.html": SITE["index.html"].replace(total_line, total_line + COUNT_LINE),
            "app.js": SITE["app.js"].replace(total_js, total_js + COUNT_JS)}


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
    "```html {p}\n{s}```\n", "```\n{p}\n```\n```html\n{s}```\n",  # the last: DeepSeek's, as aider reports it
])
def test_paths_before_fences_and_decorated_paths(wrapper: str) -> None:
    body = "<<<<<<< SEARCH\n  <h1>Sales</h1>\n=======\n  <h1>New</h1>\n>>>>>>> REPLACE\n"
    text = wrapper.format(b=f"index.html\n{body}", p="index.html", s=body)
    parsed = parse_answer(text + "\n**chart.js**\n```js\ndraw();\n```\n")  # fences around blocks stay closed
    assert [e.path for e in parsed.edits] == ["index.html"] and parsed.files == {"chart.js": "draw();\n"}


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
    ("index.html\n<<<<<<< SEARCH\n<h1>\n", "is cut off before its ======= line"),
    ("index.html\n<<<<<<< SEARCH\n<h1>\n=======\n<h2>\n", "is cut off before its >>>>>>> REPLACE line"),
    ("index.html\n<<<<<<< SEARCH\n<h1>\n>>>>>>> REPLACE\n", "has no ======= line"),
])
def test_answers_with_nothing_usable_are_parse_errors(text: str, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_answer(text)


# --- the shapes real models write (issue 15) ---

def test_reasoning_before_the_blocks_and_a_snippet_named_after_an_edited_file() -> None:
    # "The count itself is one expression in `app.js`:" before a fence: commentary, not the new app.js
    parsed = parse_answer(answer("edits-reasoning.md"))
    assert [e.path for e in parsed.edits] == ["index.html", "app.js"] and parsed.files == {}
    assert parsed.notes == ["app.js: a fence named after this file was taken for commentary, not for the whole "
                            "file, since edit blocks in the same answer change it"]
    applied = apply_answer(SITE, parsed)
    assert applied.files == with_count() and applied.changed == {"index.html", "app.js"} and not applied.failures


def test_blocks_in_fences_named_only_in_the_sentence_before_them() -> None:
    parsed = parse_answer(answer("edits-fence-in-prose.md"))
    assert [e.path for e in parsed.edits] == ["index.html", "app.js"] and parsed.files == {}
    assert apply_answer(SITE, parsed).files == with_count()


def test_a_whole_file_in_a_fence_named_in_a_sentence_next_to_blocks() -> None:
    applied = apply_answer(SITE, parse_answer(answer("edits-whole-file-in-prose.md")))
    assert applied.files["style.css"].startswith("body {\n  font-family: system-ui, sans-serif;\n  margin: 2rem;\n"
                                                 "  background: #111;\n")
    assert applied.files["style.css"].endswith("#note {\n  color: #aaa;\n}\n")
    assert '    <p id="note">Figures are computed' in applied.files["index.html"]
    assert applied.changed == {"index.html", "style.css"} and not applied.failures


def test_a_new_file_as_a_named_fence_next_to_blocks() -> None:
    applied = apply_answer(SITE, parse_answer(answer("edits-new-file-fence.md")))
    assert applied.files["chart.js"].startswith("async function drawChart() {\n")
    assert applied.files["chart.js"].endswith("\ndrawChart();\n")
    assert '  <script src="app.js"></script>\n  <script src="chart.js"></script>\n' in applied.files["index.html"]
    assert applied.changed == {"index.html", "chart.js"} and not applied.failures


def test_a_search_whose_indentation_drifted_applies_reindented() -> None:
    applied = apply_answer(SITE, parse_answer(answer("edits-indent-drift.md")))
    assert not applied.failures
    assert ('      <tbody></tbody>\n      <tfoot><tr><th>Total</th><th id="table-total">0</th></tr></tfoot>\n'
            "    </table>\n") in applied.files["index.html"]
    assert ('  document.getElementById("total-sales").textContent = total.toFixed(2);\n'
            '  document.getElementById("table-total").textContent = total.toFixed(2);\n') in applied.files["app.js"]
    assert applied.notes == (
        'index.html: the block beginning "<table id="regions">" was applied ignoring indentation',
        'app.js: the block beginning "document.getElementById("total-sales").textContent = total.toFixed(2);" was '
        "applied ignoring indentation",
    )


def test_a_search_with_elisions_keeps_the_elided_lines() -> None:
    applied = apply_answer(SITE, parse_answer(answer("edits-elision.md")))
    assert not applied.failures and applied.changed == {"app.js"}
    old = "    tr.innerHTML = `<td>${row.region}</td><td>${row.sales}</td>`;\n"
    new = ('    tr.innerHTML = `<td><a href="?region=${encodeURIComponent(row.region)}">${row.region}</a></td>'
           "<td>${row.sales}</td>`;\n")
    assert applied.files["app.js"] == SITE["app.js"].replace(old, new)


def test_blocks_already_applied_succeed_and_change_nothing() -> None:
    applied = apply_answer(with_count(), parse_answer(answer("edits-already-applied.md")))
    assert applied.files == with_count() and applied.failures == () and applied.changed == frozenset()
    assert [note.split(":")[0] for note in applied.notes] == ["index.html", "app.js"]
    assert all("is already applied" in note for note in applied.notes)


def test_a_block_missing_its_divider_fails_alone_and_the_good_blocks_apply() -> None:
    applied = apply_answer(SITE, parse_answer(answer("edits-missing-marker.md")))
    assert applied.files == with_count() and applied.changed == {"index.html", "app.js"}
    (failure,) = applied.failures
    assert failure.block.path == "index.html" and "<caption>Sales by region</caption>" in failure.block.search
    assert str(failure) == ('index.html: the SEARCH text beginning "<thead><tr><th>Region</th><th>Sales</th></tr>'
                            '</thead>" has no ======= line between it and >>>>>>> REPLACE, so it was not applied; '
                            "send it again with all three markers")


def test_a_block_missing_its_replace_marker_before_the_next_block_fails_alone() -> None:
    text = (block("a.js", "one\n", "two\n").replace(">>>>>>> REPLACE\n", "")
            + "\nb.js\n" + "<<<<<<< SEARCH\nthree\n=======\nfour\n>>>>>>> REPLACE\n")
    parsed = parse_answer(text)
    assert parsed.edits == [EditBlock("b.js", "three\n", "four\n")]  # its path line is not the bad block's text
    (bad,) = parsed.malformed
    assert bad.block == EditBlock("a.js", "one\n", "two\n\n") and "has no >>>>>>> REPLACE line" in bad.reason


def test_an_answer_cut_off_inside_a_block_keeps_the_blocks_before_it() -> None:
    text = block("a.js", "one\n", "two\n") + "a.js\n<<<<<<< SEARCH\nthree\n=======\nfo"
    applied = apply_answer({"a.js": "one\nthree\n"}, parse_answer(text))
    assert applied.files == {"a.js": "two\nthree\n"}
    assert [str(f) for f in applied.failures] == [
        'a.js: the SEARCH text beginning "three" is cut off before its >>>>>>> REPLACE line (the answer ended there)']


def test_a_fence_around_blocks_left_open_does_not_take_the_next_files_closing_line() -> None:
    text = ("```html\nindex.html\n<<<<<<< SEARCH\n  <h1>Sales</h1>\n=======\n  <h1>S</h1>\n>>>>>>> REPLACE\n\n"
            "```javascript chart.js\ndraw();\n```\n\nThat is all.\n")
    parsed = parse_answer(text)
    assert [e.path for e in parsed.edits] == ["index.html"] and parsed.files == {"chart.js": "draw();\n"}


@pytest.mark.parametrize("opening", ["<think>\n", ""])  # a paired <think> block, or only its closing tag
def test_blocks_drafted_while_thinking_are_never_applied(opening: str) -> None:
    text = answer("edits-think.md").replace("<think>\n", opening)
    parsed = parse_answer(text)
    assert [e.path for e in parsed.edits] == ["index.html", "app.js"]
    applied = apply_answer(SITE, parsed)
    assert applied.files == with_count()  # the heading stays "Sales Summary", as the draft did not
    assert "<h1>Sales Summary</h1>" in applied.files["index.html"]


def test_a_path_differing_in_case_or_directory_from_one_file_is_that_file() -> None:
    files = {"index.html": PAGE, "js/app.js": "run();\n", "css/a.css": "a\n", "print/a.css": "a\n"}
    assert resolve_path("Index.HTML", files) == "index.html"
    assert resolve_path("./app.js", files) == "js/app.js"
    assert resolve_path("src/js/app.js", files) == "js/app.js"
    assert resolve_path("a.css", files) is None  # two files have that name: no guess
    assert resolve_path("main.js", files) is None
    applied = apply_answer(files, parse_answer(block("APP.JS", "run();\n", "start();\n")))
    assert applied.files["js/app.js"] == "start();\n" and applied.changed == {"js/app.js"}
    assert applied.notes == ("APP.JS: taken as js/app.js, the one existing file of that name",)


def test_a_block_without_a_path_applies_to_the_one_file_holding_its_text() -> None:
    files = {"index.html": PAGE, "app.js": "run();\n"}
    text = "Change this please\n<<<<<<< SEARCH\nrun();\n=======\nstart();\n>>>>>>> REPLACE\n"
    applied = apply_answer(files, parse_answer(text))
    assert applied.files["app.js"] == "start();\n" and applied.changed == {"app.js"}
    assert applied.notes == ('(no path): the block beginning "run();" was applied to app.js, the one file holding '
                             "its SEARCH text",)
    (failure,) = apply_answer({"a.js": "run();\n", "b.js": "run();\n"}, parse_answer(text)).failures
    assert str(failure).startswith('(no path): the SEARCH text beginning "run();" has no file path on the line '
                                   "before <<<<<<< SEARCH, and no single file holds it (files: a.js, b.js)")


# --- failures carry the nearest text ---

def test_a_failed_block_shows_the_nearest_lines_of_its_file_with_their_line_number() -> None:
    search = '  document.getElementById("total").textContent = total.toFixed(2);\n'
    (failure,) = apply_answer(SITE, parse_answer(block("app.js", search, "x\n"))).failures
    assert failure.reason == "was not found in the file"
    lines = SITE["app.js"].splitlines()
    target = lines.index('  document.getElementById("total-sales").textContent = total.toFixed(2);')
    assert failure.line == target + 1 - 3
    assert failure.context == "\n".join(lines[target - 3:target + 4])


def test_the_nearest_lines_of_a_drifted_multi_line_search_point_at_its_region() -> None:
    # the model mistyped one line of a drifted block: the context is the table, not the top of the page
    search = "<table id=\"regions\">\n  <thead><tr><th>Region</th><th>Sale</th></tr></thead>\n</table>\n"
    (failure,) = apply_answer(SITE, parse_answer(block("index.html", search, "x\n"))).failures
    assert failure.context.splitlines()[3] == '    <table id="regions">'
    assert '<thead><tr><th>Region</th><th>Sales</th></tr></thead>' in failure.context
