"""The map of a published site (action/outline.py): outlines copy lines exactly, and the files a change needs in
full are those it names, those using the elements it names out of the outline's sight, and index.html."""

from __future__ import annotations

from action.outline import ELISION, element_ids, needed_files, outline

PAGE = "\n".join([
    "<!doctype html>", "<html>", "<head>", "  <title>Sales</title>", '  <link rel="stylesheet" href="style.css">',
    "</head>", "<body>", "  <h1>Sales</h1>", "  <p>Intro text.</p>", '  <span id="total">10</span>',
    '  <script src="app.js"></script>', "</body>", "</html>", ""])
FILLER = "".join(f"  // step {i}: nothing the change needs to see\n" for i in range(40))
APP = ("const CONFIG = {\n  \"csv\": \"data.csv\",\n  \"totals\": [\"total\"]\n};\n\nfunction render(rows) {\n"
       + FILLER + '  document.querySelector("#chart").hidden = false;\n}\n\nasync function main() {\n' + FILLER
       + "}\n")
STYLE = "body {\n  margin: 0;\n}\n" + "".join(f".c{i} {{\n  color: red;\n}}\n" for i in range(60))


def test_an_outline_holds_defining_lines_exactly_with_elisions() -> None:
    shown = outline("app.js", APP).splitlines()
    assert shown[:4] == APP.splitlines()[:4]  # a short data literal whole
    assert "function render(rows) {" in shown and "async function main() {" in shown
    assert ELISION in shown and not any("step 3:" in line for line in shown)
    assert all(line == ELISION or line in APP.splitlines() for line in shown)
    html = outline("index.html", PAGE).splitlines()
    assert '  <span id="total">10</span>' in html and "  <p>Intro text.</p>" not in html
    assert [line for line in outline("style.css", STYLE).splitlines() if line != ELISION][:2] == ["body {", ".c0 {"]


def test_the_ids_a_brief_and_its_checks_name() -> None:
    assert element_ids(["Add a table #product-sales.", 'document.getElementById("total")',
                        "<p id='note'>", "color &#38; #fff is not an id after &"]) >= {"product-sales", "total",
                                                                                      "note", "fff"}


def test_needed_files_are_the_named_the_used_out_of_sight_and_index() -> None:
    published = {"index.html": PAGE, "app.js": APP, "style.css": STYLE}
    assert needed_files("Change the heading.", [], published) == {"index.html"}
    assert needed_files("Make the cards in style.css blue.", [], published) == {"index.html", "style.css"}
    # #chart is used inside render(), which the outline of app.js elides: the change needs app.js whole.
    assert needed_files("Show the chart.", ['{"js": "!!document.querySelector(\\"#chart\\")"}'],
                        published) == {"index.html", "app.js"}
    # #total is in the outline (CONFIG is shown whole): the outline is enough.
    assert "app.js" not in needed_files("Keep #total right.", [], published)
    # A tiny file the change does not need is named only: its outline would be all of it.
    assert needed_files("Change the heading.", [], {**published, "tiny.css": "p { margin: 0; }\n"}) == {"index.html"}
    assert outline("tiny.css", "p { margin: 0; }\n") == ELISION
    # ... unless an element the change names is used in it: then all of it is out of sight, and it goes whole.
    assert "tiny.css" in needed_files("Hide #total.", [], {**published, "tiny.css": "#total { color: red; }\n"})
