"""The varied style without a server: every answer shape appears for some seed, each carries exactly the intended
files or edits for a careful reader (tests/sandbox_parts/reference.py), and the same seed and request always give
the same answer. The copied-constant site is caught by other data; its repair computes."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from action.prompt import build_messages, repair_messages
from sandbox.openrouter import generator, shapes
from sandbox.openrouter.dice import Dice
from sandbox.openrouter.generator import Draft
from tests.sandbox_parts import reference
from tests.sandbox_parts.test_generator import attachment_bytes, load_brief, run_script, user_text

SEEDS = range(80)


def r1_text() -> str:
    return user_text(build_messages(load_brief("sum-of-sales.r1.json")))


def r2_draft() -> Draft:
    """Round 2 edits on a published round 1 that lacks style.css, so one change is a new file."""
    r1 = load_brief("sum-of-sales.r1.json")
    published = generator.build_files(generator.parse_prompt(r1_text()))
    del published["style.css"]
    messages = build_messages(load_brief("sum-of-sales.r2.json"), published, r1.checks, edits=True)
    text = user_text(messages)
    return generator.compose(text, last_request=text)


def by_shape(draft: Draft) -> dict[str, str]:
    """The first answer written in each shape over the seeds."""
    seen: dict[str, str] = {}
    for seed in SEEDS:
        written = shapes.write(draft, Dice(seed, "sandbox/m", "request"))
        seen.setdefault(written.shape, written.text)
    return seen


FILE_MARKERS: dict[str, Callable[[str], bool]] = {
    "file-tags": lambda t: '<file path="index.html">' in t,
    "numbered-bold": lambda t: re.search(r"^1\. \*\*index\.html\*\*\n\n```html\n", t, re.M) is not None,
    "here-is": lambda t: "Here is `index.html`:\n\n```html\n" in t,
    "heading": lambda t: "#### script.js (logic)\n\n```javascript\n" in t,
    "fence-info": lambda t: "```html index.html\n" in t,
    "think-draft": lambda t: "</think>" in t and "<think>" not in t,
}


def test_every_whole_file_shape_carries_the_files() -> None:
    draft = generator.compose(r1_text())
    seen = by_shape(draft)
    assert set(seen) == set(shapes.FILE_SHAPES)
    for shape, text in seen.items():
        assert FILE_MARKERS[shape](text), (shape, text[:300])
        assert reference.files(text) == draft.files, shape
        assert text != generator.render(draft)  # prose around the files, at least


def test_the_draft_before_an_orphan_think_is_not_the_file() -> None:
    draft = generator.compose(r1_text())
    text = by_shape(draft)["think-draft"]
    thinking = text.split("</think>", 1)[0]
    drafted = reference.files(thinking)
    assert set(drafted) == {"index.html"} and drafted["index.html"] != draft.files["index.html"]
    assert "Sales Summary iklj4 (draft)" in drafted["index.html"]  # a parser that keeps it publishes a wrong title


EDIT_MARKERS: dict[str, Callable[[str, Draft], bool]] = {
    "reasoning": lambda t, _d: not t.startswith(("index.html", "<<<<<<<")) and "<<<<<<< SEARCH" in t,
    "fence-in-prose": lambda t, _d: "In `index.html`, change this part:\n\n```html\n<<<<<<< SEARCH\n" in t
    and "\nindex.html\n<<<<<<< SEARCH" not in t,
    "new-file-fence": lambda t, _d: "```css style.css\n" in t and '<file path="style.css">' not in t,
    "indent-drift": lambda t, d: any(s not in d.old[p] for p, s, _r in reference.edits(t)[0] if s is not None),
    "elision": lambda t, _d: any(s is not None and "\n...\n" in s for _p, s, _r in reference.edits(t)[0]),
    "already-applied": lambda t, _d: len({(p, s) for p, s, _ in reference.edits(t)[0]}) < len(reference.edits(t)[0]),
    "missing-marker": lambda t, _d: any(s is None for _p, s, _r in reference.edits(t)[0])
    and sum(s is not None for _p, s, _r in reference.edits(t)[0]) >= 2,
}


def test_every_edit_shape_carries_the_edits() -> None:
    draft = r2_draft()
    assert draft.kind == "edits"
    seen = by_shape(draft)
    assert set(seen) == set(shapes.EDIT_SHAPES)
    for shape, text in seen.items():
        assert EDIT_MARKERS[shape](text, draft), (shape, text[:600])
        assert reference.apply(draft.old, text) == draft.files, shape


def test_check_translations_come_with_prose_or_in_a_fence() -> None:
    request = '<translate-checks>\n{"id": 0, "check": "The title is \\"Hi\\"", "query": ""}\n</translate-checks>'
    draft = generator.compose(request, last_request=request)
    seen = by_shape(draft)
    assert set(seen) == set(shapes.CHECK_SHAPES)
    assert "```json\n{" in seen["fenced-json"]
    for text in seen.values():
        with pytest.raises(json.JSONDecodeError):
            json.loads(text)  # a reader that takes only bare JSON loses every check
        assert json.loads(text[text.index("{"):text.rindex("}") + 1]) == json.loads(draft.text)


def test_structured_output_stays_bare_json() -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "site", "schema": {"type": "object"}}}
    draft = generator.compose(r1_text(), fmt)
    assert all(shapes.write(draft, Dice(seed, "m", "r")).text == draft.text for seed in range(5))


def test_same_seed_and_request_same_answer_and_seeds_differ() -> None:
    draft = generator.compose(r1_text())
    once = shapes.write(draft, Dice(7, "sandbox/m", "abc"))
    assert shapes.write(draft, Dice(7, "sandbox/m", "abc")) == once
    assert len({shapes.write(draft, Dice(s, "sandbox/m", "abc")).text for s in SEEDS}) > 5


def test_running_long_puts_the_cut_inside_the_answer() -> None:
    text = "x" * 1000
    long = shapes.run_long(text, 200)
    assert long.endswith(text) and len(long) - len(text) < 800 < len(long)  # 200 tokens: a cut after the preamble
    assert shapes.run_long(text, 100) == text  # already past the limit: nothing to add


def test_copied_site_fails_other_data_and_its_repair_computes(tmp_path: Path) -> None:
    brief = load_brief("sum-of-sales.r1.json")
    copied = generator.compose(r1_text(), copy=True)
    computed = generator.compose(r1_text())
    assert copied.copied == ("total-sales",) and computed.copied == ()
    assert '"csv": null' in copied.files["script.js"] and '"csv": "data.csv"' in computed.files["script.js"]
    assert '<span id="total-sales">5109.25</span>' in copied.files["index.html"]
    other = {"data.csv": b"order_id,product,sales\n1,Pen,10.5\n2,Ink,20\n"}  # a grader's other data
    for name in ("copied", "computed", "today"):
        (tmp_path / name).mkdir()
    assert run_script(copied.files, tmp_path / "copied", other)["total-sales"]["text"] == "5109.25"
    assert run_script(computed.files, tmp_path / "computed", other)["total-sales"]["text"] == "30.5"
    assert run_script(computed.files, tmp_path / "today", attachment_bytes(brief))["total-sales"]["text"] == "5109.25"
    repair = user_text(repair_messages(brief, generator.render(copied), [
        "#total-sales did not change when the page was served other data: compute it from data.csv"]))
    assert generator.compose(repair, copy=False).files == computed.files


@pytest.mark.parametrize("name", ["captcha-solver.r1.json", "sum-of-sales.r2.json"])
def test_nothing_to_copy_without_a_figure_read_from_one_element(name: str) -> None:
    text = user_text(build_messages(load_brief(name)))
    assert generator.compose(text, copy=True).copied == ()
