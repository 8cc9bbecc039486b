"""Copied constants on real pages: served again with other data, a typed-in figure stays and a computed one moves."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest

from action.validate import ProblemKind
from action.verify.browser import Browser, Outcome
from action.verify.perturb import png
from action.verify.verifier import Verifier
from deployer.brief import parse_brief

# Twelve rows (a row count of 12 is no figure), sum of sales 5109.25, North 93.75, South 4918.50.
ROWS = [("North", "36.75"), ("West", "97.00"), ("North", "57.00"), ("South", "4918.50")] + [("East", "0")] * 8
CSV = ("region,sales\n" + "".join(f"{r},{s}\n" for r, s in ROWS)).encode()
SUM_JS = """fetch("data.csv").then((r) => r.text()).then((text) => {
  const rows = text.trim().split("\\n").slice(1).map((line) => line.split(","));
  const total = rows.reduce((sum, [, sales]) => sum + parseFloat(sales), 0);
  document.getElementById("total-sales").textContent = String(Math.round(total * 100) / 100);
  const groups = {};
  for (const [region, sales] of rows) groups[region] = (groups[region] || 0) + parseFloat(sales);
  document.querySelector("#by-region tbody").innerHTML = Object.keys(groups).sort().map((region) =>
    `<tr><td>${region}</td><td>${Math.round(groups[region] * 100) / 100}</td></tr>`).join("");
});"""
TOTAL = {"js": 'Math.abs(parseFloat(document.querySelector("#total-sales").textContent) - 5109.25) < 0.01'}
REGIONS = {"js": "[...document.querySelectorAll('#by-region tbody td:last-child')].reduce((s, td) => "
                 "s + parseFloat(td.textContent), 0) > 5000"}
TITLE = {"js": "document.querySelector('h1').textContent === 'Sales Summary' && "
               "document.querySelector('#rows').textContent === '12'"}


def sales_page(*, computed: bool) -> dict[str, bytes]:
    typed = ("<tr><td>East</td><td>0</td></tr><tr><td>North</td><td>93.75</td></tr>"
             "<tr><td>South</td><td>4918.5</td></tr><tr><td>West</td><td>97</td></tr>")
    page = ("<!doctype html><html><head><title>Sales</title></head><body><h1>Sales Summary</h1>"
            '<p>Total: <span id="total-sales">5109.25</span> over <span id="rows">12</span> rows</p>'
            f'<table id="by-region"><tbody>{typed}</tbody></table>'
            + (f"<script>{SUM_JS}</script>" if computed else "") + "</body></html>")
    return {"index.html": page.encode(), "data.csv": CSV}


def brief(checks: list[Any], attachments: dict[str, tuple[str, bytes]]) -> Any:
    return parse_brief({
        "email": "s@example.com", "task": "t", "round": 1, "nonce": "n", "brief": "Show figures.",
        "evaluation_url": "http://127.0.0.1:9/notify", "checks": checks,
        "attachments": [{"name": n, "url": f"data:{t};base64,{base64.b64encode(d).decode()}"}
                        for n, (t, d) in attachments.items()],
    }, require_secret=False)


@pytest.fixture
def sales(browser: Browser) -> Iterator[Verifier]:
    checker = Verifier.prepare(brief([TOTAL, REGIONS, TITLE], {"data.csv": ("text/csv", CSV)}), [], llm=None,
                               prefix="/octo/sales/", browser=browser)
    yield checker
    checker.close()


def test_a_typed_in_total_and_table_are_flagged_as_copied(sales: Verifier) -> None:
    verdict = sales.verify(sales_page(computed=False))
    assert [r.outcome for r in verdict.results] == [Outcome.PASSED] * 3  # today's checks cannot tell
    assert [(c.check.index, [(b.selector, b.shown) for b in c.bound]) for c in verdict.copied] == [
        (0, [("#total-sales", "5109.25")]),
        (1, [("#by-region tbody td:last-child", "93.75"), ("#by-region tbody td:last-child", "4918.5"),
             ("#by-region tbody td:last-child", "97")]),
    ]
    first, second = verdict.problems
    assert first.kind is second.kind is ProblemKind.COPIED
    assert "#total-sales showed 5109.25 both times (data.csv: sum of sales): compute it." in first.message
    assert "stayed the same with other data in data.csv" in first.message
    assert "(match 2) showed 93.75 both times (data.csv: sum of sales where region = North)" in second.message


def test_a_computed_total_and_table_and_a_title_or_count_are_not_flagged(sales: Verifier) -> None:
    verdict = sales.verify(sales_page(computed=True))
    assert [r.outcome for r in verdict.results] == [Outcome.PASSED] * 3
    assert verdict.copied == [] and verdict.problems == []
    assert dict(verdict.results[2].read) == {"h1": ("Sales Summary",), "#rows": ("12",)}  # read, never bound


BRIGHTNESS_JS = """const src = new URLSearchParams(location.search).get("url") || "sample.png";
const img = new Image();
img.onload = () => {
  const canvas = document.createElement("canvas");
  canvas.width = img.width; canvas.height = img.height;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(img, 0, 0);
  const data = ctx.getImageData(0, 0, img.width, img.height).data;
  let red = 0;
  for (let i = 0; i < data.length; i += 4) red += data[i];
  document.getElementById("brightness").textContent = String(Math.round(red / (data.length / 4)));
};
img.src = src;"""
BRIGHTNESS = {"js": "(async () => { for (let i = 0; i < 50; i++) { const t = document.querySelector('#brightness')"
                    ".textContent; if (t) return location.search.startsWith('?url=') && parseInt(t) === 200; "
                    "await new Promise((r) => setTimeout(r, 100)); } return false; })()"}
IMAGE = png(40, 20, b"".join(b"\x00" + b"\xc8\x0a\x0a" * 40 for _ in range(20)))  # red 200 everywhere


def image_page(*, computed: bool) -> dict[str, bytes]:
    body = '<span id="brightness"></span>' + (f"<script>{BRIGHTNESS_JS}</script>" if computed else "")
    if not computed:
        body = '<span id="brightness">200</span>'
    page = f"<!doctype html><html><head><title>Brightness</title></head><body><h1>Brightness</h1>{body}</body></html>"
    return {"index.html": page.encode(), "sample.png": IMAGE}


@pytest.mark.parametrize("computed", [False, True])
def test_an_image_figure_typed_in_is_flagged_and_one_read_from_the_url_is_not(
    browser: Browser, computed: bool,
) -> None:
    checks = [BRIGHTNESS, {"js": "document.querySelector('h1').textContent === 'Brightness'"}]
    checker = Verifier.prepare(brief(checks, {"sample.png": ("image/png", IMAGE)}), [], llm=None,
                               prefix="/octo/light/", browser=browser)
    verdict = checker.verify(image_page(computed=computed))
    assert [r.outcome for r in verdict.results] == [Outcome.PASSED] * 2
    assert verdict.results[0].url.endswith("?url=" + verdict.results[0].url.split("?url=")[0] + "sample.png")
    flagged = [(c.check.index, [b.shown for b in c.bound]) for c in verdict.copied]
    assert flagged == ([] if computed else [(0, ["200"])])  # the heading is never bound to the image
    if not computed:
        [problem] = verdict.problems
        assert "stayed the same with other data in sample.png:" in problem.message and "verify-other" not in \
            problem.message
        assert "#brightness showed 200 both times (the value the check expects for the image" in problem.message
