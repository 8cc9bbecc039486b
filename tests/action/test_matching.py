"""Where a SEARCH text applies: exact first, then drifted indentation, then `...` elisions, then already applied;
each relaxed rule only when the ones before found nothing, and only at exactly one place."""

from __future__ import annotations

from action.matching import ALREADY_APPLIED, Missed, Replaced, nearest, replace_once

JS = (
    "function render(rows) {\n"
    "  const total = sum(rows);\n"
    "  if (total > 0) {\n"
    "    show(total);\n"
    "  }\n"
    "}\n"
)


def test_an_exact_match_is_replaced_verbatim() -> None:
    done = replace_once(JS, "    show(total);\n", "    show(total.toFixed(2));\n")
    assert done == Replaced(JS.replace("show(total)", "show(total.toFixed(2))"), "")


def test_several_exact_matches_are_refused_and_never_relaxed_away() -> None:
    text = "a();\n  b();\na();\n"
    done = replace_once(text, "a();\n", "c();\n")
    assert isinstance(done, Missed) and done.ambiguous
    assert done.reason.startswith("matches 2 times (at lines 1, 3)")


def test_an_exact_match_starts_at_a_line_start() -> None:
    # the un-indented line also occurs as the tail of the indented one: taking it there would leave the REPLACE
    # text's second line flush left inside the function
    done = replace_once(JS, "const total = sum(rows);\n", "const total = sum(rows);\nlog(total);\n")
    assert isinstance(done, Replaced) and done.how == "ignoring indentation"
    assert "  const total = sum(rows);\n  log(total);\n  if" in done.text


def test_lost_indentation_is_found_and_the_replacement_reindented_keeping_its_shape() -> None:
    search = "if (total > 0) {\n  show(total);\n}\n"
    replace = "if (total > 0) {\n  show(total);\n} else {\n  hide();\n}\n"
    done = replace_once(JS, search, replace)
    assert isinstance(done, Replaced) and done.how == "ignoring indentation"
    assert done.text == JS.replace("  }\n}", "  } else {\n    hide();\n  }\n}")


def test_extra_indentation_in_the_search_is_found_too() -> None:
    done = replace_once(JS, "        show(total);\n", "        show(total, rows);\n")
    assert isinstance(done, Replaced) and done.text == JS.replace("show(total)", "show(total, rows)")


def test_a_replacement_deeper_than_its_search_stays_deeper() -> None:
    # SEARCH and REPLACE lose the same indentation: the REPLACE keeps its own offset from the SEARCH
    done = replace_once(JS, "}\n", "}\n")  # exact, once at a line start: the last line
    assert isinstance(done, Replaced) and done.how == ""
    done = replace_once(JS, "if (total > 0) {\n", "if (total > 0) {\n  log(total);\n")
    assert isinstance(done, Replaced) and "  if (total > 0) {\n    log(total);\n    show" in done.text


def test_tabs_are_indentation_too() -> None:
    text = "<ul>\n\t<li>a</li>\n\t<li>b</li>\n</ul>\n"
    done = replace_once(text, "<li>b</li>\n", "<li>b</li>\n<li>c</li>\n")
    assert isinstance(done, Replaced) and done.text == "<ul>\n\t<li>a</li>\n\t<li>b</li>\n\t<li>c</li>\n</ul>\n"


def test_a_relaxed_match_in_two_places_applies_nowhere() -> None:
    text = "a {\n  x();\n}\nb {\n    x();\n}\n"
    done = replace_once(text, "x();\n", "y();\n")
    assert isinstance(done, Missed) and not done.ambiguous
    assert done.reason.startswith("was not found exactly, and matches 2 places when indentation is ignored (at "
                                  "lines 2, 5)")


def test_lines_shifted_by_different_amounts_are_no_match() -> None:
    # the relative indentation differs from the file's: this is other code, not drifted code
    done = replace_once(JS, "if (total > 0) {\nshow(total);\n}\n", "x\n")
    assert done == Missed("was not found in the file")


def test_elisions_keep_the_lines_between_and_replace_each_piece() -> None:
    search = "function render(rows) {\n...\n    show(total);\n"
    replace = "function render(rows) {\n...\n    show(total, rows.length);\n"
    done = replace_once(JS, search, replace)
    assert done == Replaced(JS.replace("show(total)", "show(total, rows.length)"), "with `...` elisions")


def test_elision_pieces_must_each_match_once_in_order_and_line_up() -> None:
    text = "a\nb\nc\nb\n"
    assert replace_once(text, "a\n...\nb\n", "a\n...\nB\n") == Missed(
        "was not found with its `...` elisions: SEARCH piece 2 matches 2 places")
    assert replace_once(text, "c\n...\na\n", "c\n...\nA\n") == Missed(
        "was not found with its `...` elisions: SEARCH piece 2 comes before the piece above it")
    unpaired = replace_once(text, "a\n...\nc\n", "a\nC\n")
    assert isinstance(unpaired, Missed) and "not in the same places in SEARCH and REPLACE" in unpaired.reason


def test_a_block_already_applied_changes_nothing_and_succeeds() -> None:
    search = "    show(total);\n"
    replace = "    show(total);\n    log(total);\n"
    once = replace_once(JS, search, replace)
    assert isinstance(once, Replaced)
    again = replace_once(once.text, "    show(total);\n  }\n", "    show(total);\n    log(total);\n  }\n")
    assert again == Replaced(once.text, ALREADY_APPLIED)


def test_a_block_that_adds_lines_sent_again_is_already_applied() -> None:
    # its SEARCH text is still there, inside its own REPLACE text: applying it again would add the lines twice
    search = "    show(total);\n"
    replace = "    show(total);\n    log(total);\n"
    once = replace_once(JS, search, replace)
    assert isinstance(once, Replaced) and once.how == ""
    assert replace_once(once.text, search, replace) == Replaced(once.text, ALREADY_APPLIED)
    drifted = replace_once(once.text, "show(total);\n", "show(total);\nlog(total);\n")
    assert drifted == Replaced(once.text, ALREADY_APPLIED)


def test_punctuation_alone_is_never_already_applied() -> None:
    # the REPLACE text "}" is in every file: its presence says nothing about the block
    assert replace_once(JS, "  } else {\n  }\n", "  }\n") == Missed("was not found in the file")


def test_nearest_points_at_the_most_similar_region_with_its_line_number() -> None:
    text = "".join(f"<p id=\"p{i}\">paragraph {i}</p>\n" for i in range(60))
    text += "<table id=\"sales\">\n  <tr><td>North</td><td>120</td></tr>\n</table>\n"
    text += "".join(f"<p id=\"q{i}\">paragraph {i}</p>\n" for i in range(60))
    line, excerpt = nearest(text, "<table id='sales'>\n<tr><td>North</td><td>12O</td></tr>\n")
    assert line == 61 - 3  # the table starts on line 61; three lines of context before it
    assert excerpt.splitlines()[3:6] == ['<table id="sales">', "  <tr><td>North</td><td>120</td></tr>", "</table>"]


def test_nearest_is_bounded_and_empty_when_nothing_resembles_the_search() -> None:
    lines = [f"const value{i} = compute({i}, 'a fairly long line of code to fill the file');" for i in range(500)]
    text = "\n".join(lines) + "\n"
    search = lines[200:300]
    search[50] = search[50].replace("compute", "computed")  # why the block did not match
    line, excerpt = nearest(text, "\n".join(search) + "\n")
    assert line == 201 - 3 and len(excerpt.splitlines()) < 40 and 3000 - 100 < len(excerpt) <= 3000  # by size
    assert excerpt.splitlines()[3] == lines[200]
    assert nearest(text, "<svg></svg>\n") == (0, "")
