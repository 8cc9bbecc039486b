"""The built-in model: prompts written by the action's own prompt builder in, a working site out.

Static checks read the HTML as a grader without a browser does; the script is run under node with a small DOM
stand-in, fetching the committed attachment, as a browser would after load.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import html5lib
import pytest

from action.parse import parse_files
from action.prompt import build_messages, repair_messages
from deployer.brief import Brief, parse_brief
from sandbox.openrouter import generator
from sandbox.openrouter.plan import plain
from sandbox.openrouter.prompt import parse_prompt

BRIEFS = Path(__file__).parent / "briefs"  # copies of the public sample briefs
NS = {"h": "http://www.w3.org/1999/xhtml"}


def load_brief(name: str) -> Brief:
    return parse_brief(json.loads((BRIEFS / name).read_text()))


def user_text(messages: list[dict[str, Any]]) -> str:
    """What the stand-in hands its generator: the text of every user message, in order."""
    texts = []
    for m in messages:
        if m["role"] == "user":
            c = m["content"]
            texts.append(c if isinstance(c, str) else "\n".join(p["text"] for p in c if p["type"] == "text"))
    return "\n\n".join(texts)


def generate(brief: Brief, existing: dict[str, str] | None = None, earlier: Brief | None = None) -> dict[str, str]:
    messages = build_messages(brief, existing, earlier.checks if earlier else ())
    return parse_files(generator.answer(user_text(messages)))


def dom(page: str) -> Any:
    return html5lib.parse(page, namespaceHTMLElements=False)


def by_id(tree: Any, element_id: str) -> Any:
    found = tree.find(f".//*[@id='{element_id}']")
    assert found is not None, f"no #{element_id}"
    return found


def text(element: Any) -> str:
    return "".join(element.itertext())


def run_script(site: dict[str, str], tmp_path: Path, attachments: dict[str, bytes], search: str = "") -> dict[str, Any]:
    """Run script.js under node against the elements of index.html; return each element's final state."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (.ci/run installs it)")
    for name, data in attachments.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "script.js").write_text(site["script.js"])
    tree = dom(site["index.html"])
    elements = {
        el.get("id"): {"text": text(el), "src": el.get("src"), "rows": [
            [text(td) for td in tr.findall("td")] for tr in el.findall("./tbody/tr")
        ]}
        for el in tree.iter() if el.get("id")
    }
    harness = textwrap.dedent("""
        const fs = require("fs"), path = require("path");
        const [dir, search, initial] = [process.argv[2], process.argv[3], JSON.parse(process.argv[4])];
        const els = {};
        for (const [id, s] of Object.entries(initial)) {
          const el = {id, textContent: s.text, src: s.src, rows: s.rows};
          el.querySelector = (sel) => sel === "tbody" ? {replaceChildren: (...trs) => {
            el.rows = trs.map((tr) => tr.cells.map((td) => td.textContent)); }} : null;
          els[id] = el;
        }
        let ready = null;
        global.window = global;
        global.location = {search};
        global.document = {
          getElementById: (id) => els[id] || null,
          createElement: (tag) => {
            const e = {tag, cells: [], textContent: ""};
            e.append = (c) => e.cells.push(c);
            return e;
          },
          addEventListener: (name, fn) => { if (name === "DOMContentLoaded") ready = fn; },
        };
        global.fetch = async (url) => {
          const file = path.join(dir, url);
          if (!fs.existsSync(file)) return {ok: false, status: 404, text: async () => ""};
          return {ok: true, status: 200, text: async () => fs.readFileSync(file, "utf8")};
        };
        console.warn = () => {};
        require(path.join(dir, "script.js"));
        ready();
        setTimeout(() => {
          const out = {};
          for (const [id, el] of Object.entries(els)) out[id] = {text: el.textContent, src: el.src, rows: el.rows};
          process.stdout.write(JSON.stringify(out));
        }, 200);
    """)
    (tmp_path / "harness.js").write_text(harness)
    proc = subprocess.run([node, str(tmp_path / "harness.js"), str(tmp_path), search, json.dumps(elements)],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def attachment_bytes(brief: Brief) -> dict[str, bytes]:
    return {a.name: a.decode().data for a in brief.attachments}


def assert_sum_of_sales_r1(site: dict[str, str]) -> None:
    tree = dom(site["index.html"])
    assert text(tree.find(".//title")) == "Sales Summary iklj4"
    links = [link.get("href") for link in tree.iter("link")]
    assert any("bootstrap" in h and h.startswith("https://cdn.jsdelivr.net/") for h in links)
    assert abs(float(text(by_id(tree, "total-sales"))) - 5109.25) < 0.01


def test_sum_of_sales_round_1_static_page_passes_the_checks(tmp_path: Path) -> None:
    brief = load_brief("sum-of-sales.r1.json")
    site = generate(brief)
    assert set(site) == {"index.html", "style.css", "script.js"}
    assert_sum_of_sales_r1(site)
    after = run_script(site, tmp_path, attachment_bytes(brief))
    assert after["total-sales"]["text"] == "5109.25"


def test_sum_of_sales_round_2_adds_the_table_and_keeps_round_1(tmp_path: Path) -> None:
    r1 = load_brief("sum-of-sales.r1.json")
    first = generate(r1)
    site = generate(load_brief("sum-of-sales.r2.json"), first, r1)
    assert_sum_of_sales_r1(site)  # round 1's checks still pass
    table = by_id(dom(site["index.html"]), "product-sales")
    assert table.tag == "table" and table.find("./tbody") is not None
    after = run_script(site, tmp_path, attachment_bytes(r1))
    rows = after["product-sales"]["rows"]
    assert len(rows) == 5 and {r[0] for r in rows} == {"Backpack", "Desk Lamp", "Headphones", "Notebook",
                                                         "Water Bottle"}
    assert abs(sum(float(r[-1]) for r in rows) - 5109.25) < 0.01
    assert after["total-sales"]["text"] == "5109.25"


def test_round_2_with_the_data_in_the_prompt_writes_the_rows_statically() -> None:
    r1 = load_brief("sum-of-sales.r1.json")
    csv_text = r1.attachments[0].decode().data.decode()
    site = generate(load_brief("sum-of-sales.r2.json"), {**generate(r1), "data.csv": csv_text})
    rows = by_id(dom(site["index.html"]), "product-sales").findall("./tbody/tr")
    assert len(rows) == 5
    assert abs(sum(float(text(r.findall("td")[-1])) for r in rows) - 5109.25) < 0.01


def test_captcha_solver_shows_the_url_and_a_solution(tmp_path: Path) -> None:
    brief = load_brief("captcha-solver.r1.json")
    site = generate(brief)
    tree = dom(site["index.html"])
    images = [img.get("src") for img in tree.iter("img")]
    assert "sample.png" in images  # defaults to the attachment
    default = run_script(site, tmp_path, attachment_bytes(brief))
    assert any("sample.png" in el["text"] for el in default.values())
    url = "https://example.com/captchas/image.png"
    shown = run_script(site, tmp_path, attachment_bytes(brief), f"?url={url}")
    assert any(el["text"] == url for el in shown.values())
    assert any(el["src"] == url for el in shown.values())
    solution = [el for el in shown.values() if el["text"] == "unreadable"]  # no OCR library offline
    assert solution


def test_repair_request_still_has_the_data() -> None:
    brief = load_brief("sum-of-sales.r1.json")
    answer = generator.answer(user_text(repair_messages(brief, "<file path=\"index.html\">x</file>", ["bad"])))
    assert_sum_of_sales_r1(parse_files(answer))


def test_generic_brief_echoes_titles_ids_and_params() -> None:
    text_ = (
        '<brief task="weather-widget-1a2b3" round="1">\nBuild a page with the heading "Local Weather" that shows '
        "the city from ?city= in #city-name and a forecast in #forecast.\n</brief>\n<checks>\n"
        'document.querySelector("#forecast") !== null\n{"js":"document.title === \\"Weather Now\\""}\n</checks>'
    )
    site = parse_files(generator.answer(text_))
    tree = dom(site["index.html"])
    assert text(tree.find(".//title")) == "Weather Now"
    assert text(tree.find(".//h1")) == "Local Weather"
    by_id(tree, "city-name")
    by_id(tree, "forecast")
    assert "city" in json.loads(site["script.js"].split("const CONFIG = ", 1)[1].split(";\n", 1)[0])["params"]


def test_title_precedence_and_earlier_checks() -> None:
    earlier = '<earlier-checks>\n{"js":"document.title === `Old`"}\n</earlier-checks>\n'
    brief = '<brief task="t" round="2">\nChange the title to "New".\n</brief>\n'
    page = '<file path="index.html">\n<title>Published</title>\n</file>'
    title = lambda prompt: text(dom(parse_files(generator.answer(prompt))["index.html"]).find(".//title"))  # noqa: E731
    assert title(earlier + brief + page) == "New"
    assert title(earlier + '<brief task="t" round="2">\nAdd a footer.\n</brief>\n' + page) == "Old"
    assert title('<brief task="t" round="2">\nAdd a footer.\n</brief>\n' + page) == "Published"


def test_secret_parameters_are_not_echoed() -> None:
    prompt = '<brief task="t" round="1">\nUse ?token= and ?user= to call the API.\n</brief>'
    site = parse_files(generator.answer(prompt))
    assert "param-user" in site["index.html"] and "token" not in site["index.html"].split("</p>", 1)[1]


def test_title_falls_back_to_the_task_name() -> None:
    site = parse_files(generator.answer('<brief task="markdown-to-html-c0ffee1" round="1">\nConvert it.\n</brief>'))
    assert text(dom(site["index.html"]).find(".//title")) == "Markdown To Html"


def test_any_text_is_a_prompt() -> None:
    site = parse_files(generator.answer("just say hello"))
    assert "just say hello" in site["index.html"]


def test_generated_scripts_are_valid_javascript(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (.ci/run installs it)")
    for name in ("sum-of-sales.r1.json", "captcha-solver.r1.json"):
        (tmp_path / "script.js").write_text(generate(load_brief(name))["script.js"])
        proc = subprocess.run([node, "--check", str(tmp_path / "script.js")], capture_output=True, text=True,
                              timeout=30)
        assert proc.returncode == 0, proc.stderr


def test_json_mode_fits_the_schema() -> None:
    schema = {"type": "object", "properties": {"files": {"type": "array"}, "notes": {"type": "string"}}}
    fmt = {"type": "json_schema", "json_schema": {"name": "site", "schema": schema}}
    data = json.loads(generator.answer('<brief task="t" round="1">\nHi\n</brief>', fmt))
    assert {f["path"] for f in data["files"]} == {"index.html", "style.css", "script.js"}
    assert isinstance(data["notes"], str)
    plain = json.loads(generator.answer("hi", {"type": "json_object"}))
    assert parse_files(json.dumps(plain))["index.html"].startswith("<!doctype html>")


def test_parse_prompt_reads_the_action_contract() -> None:
    brief = load_brief("sum-of-sales.r1.json")
    prompt = parse_prompt(user_text(build_messages(brief)))
    assert (prompt.task, prompt.round) == ("sum-of-sales-49008", 1)
    assert prompt.brief == brief.brief
    assert prompt.checks == [c["js"] for c in brief.checks]
    [csv_file] = prompt.attachments
    assert (csv_file.name, csv_file.media_type, csv_file.complete) == ("data.csv", "text/csv", True)
    assert csv_file.text == base64.b64decode(brief.attachments[0].url.split(",", 1)[1]).decode()


def test_truncated_csv_leaves_figures_to_the_script() -> None:
    rows = "\n".join(f"{i},{i}.5" for i in range(3))
    prompt = (
        '<brief task="t" round="1">\nSum the amount column of big.csv into #total.\n</brief>\n'
        f'<attachment name="big.csv" media-type="text/csv">\nid,amount\n{rows}\n'
        "[truncated: showing the first 20 of 90000 characters; the whole file is committed as big.csv]\n</attachment>"
    )
    site = parse_files(generator.answer(prompt))
    assert text(by_id(dom(site["index.html"]), "total")) == ""  # not a wrong partial sum
    config = json.loads(site["script.js"].split("const CONFIG = ", 1)[1].split(";\n", 1)[0])
    assert (config["csv"], config["value"], config["totals"]) == ("big.csv", "amount", ["total"])


def test_plain_numbers() -> None:
    # the same text as script.js's `String(Math.round(n * 100) / 100)`, so a refresh changes nothing
    assert [plain(v) for v in (5109.25, 25_000_000.0, 0.1 + 0.2, 2.5)] == ["5109.25", "25000000", "0.3",
                                                                                      "2.5"]
