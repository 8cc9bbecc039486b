"""The built-in model in edit rounds: asked for SEARCH/REPLACE blocks, it answers blocks that the action's strict
applier applies, turning the published files into exactly the app it would write now."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from action.edits import apply_answer, parse_answer
from action.parse import parse_files
from action.prompt import build_messages
from deployer.brief import parse_brief
from sandbox.openrouter import generator
from sandbox.openrouter.blocks import edit_blocks

SAMPLES = Path(__file__).resolve().parents[2] / "sandbox" / "briefs"


def text_of(messages: list[dict[str, Any]]) -> str:
    return "\n\n".join(p["text"] for m in messages if m["role"] == "user" for p in m["content"] if p["type"] == "text")


def test_blocks_apply_strictly_and_give_the_new_files() -> None:
    old = {"a.js": "x\nfill\nx\nfill\nx\nend\n", "same.css": "p {}\n"}
    new = {"a.js": "x\nfill\nx\nfill\ny\nend\n", "same.css": "p {}\n", "new.js": "n();\n"}
    answer = parse_answer(edit_blocks(old, new))
    assert [e.path for e in answer.edits] == ["a.js"] and answer.files == {"new.js": "n();\n"}
    applied = apply_answer(old, answer)
    assert applied.files == new and not applied.failures and applied.changed == {"a.js", "new.js"}


def test_a_change_repeated_everywhere_falls_back_to_one_whole_file_block() -> None:
    old, new = {"a.txt": "a\n" * 50}, {"a.txt": "a\n" * 25 + "b\n" + "a\n" * 24}
    applied = apply_answer(old, parse_answer(edit_blocks(old, new)))
    assert applied.files == new and not applied.failures


def test_the_round_two_sample_is_answered_with_edits_that_keep_round_one() -> None:
    r1, r2 = (parse_brief(json.loads((SAMPLES / f"sum-of-sales.r{n}.json").read_text())) for n in (1, 2))
    published = parse_files(generator.answer(text_of(build_messages(r1))))
    data = r1.attachments[0].decode().data
    messages = build_messages(r2, published, r1.checks, earlier_attachments=[("data.csv", 1, data)], edits=True)
    prompt = text_of(messages)
    reply = generator.answer(prompt, last_request=prompt)
    answer = parse_answer(reply)
    assert {e.path for e in answer.edits} == {"index.html", "script.js"} and not answer.files
    applied = apply_answer(published, answer)
    assert not applied.failures and applied.files["style.css"] == published["style.css"]
    index = applied.files["index.html"]
    assert '<table id="product-sales"' in index and '<span id="total-sales">5109.25</span>' in index
    # The prompt shows the data's shape only (action/excerpt.shape): the rows are the script's to fill at run time.
    assert "<title>Sales Summary iklj4</title>" in index and "<td>Headphones</td>" not in index
    assert '"group": "product"' in applied.files["script.js"]
    assert '"tables": [\n    "product-sales"\n  ]' in applied.files["script.js"]
    # The same conversation, asked for whole files (the fallback), answers whole files.
    assert parse_files(generator.answer(prompt, last_request="Send whole files.")).keys() == published.keys()
