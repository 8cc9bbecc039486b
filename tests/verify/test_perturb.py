"""Other data of the same shape, the figures data determines, and the rule that tells a copied constant (pure)."""

from __future__ import annotations

import csv
import io
import json
import struct
import zlib

from action.verify.checks import plan_checks
from action.verify.copied import Bound, bound_values, changing_figures, literals, reads_image, still_shown
from action.verify.figures import figures, shown_numbers, shows
from action.verify.perturb import OTHER_IMAGES, image_size, other_csv, other_image, other_number, perturb

SALES = (b"order_id,date,region,product,units,sales\r\nSO-1001,2025-09-14,North,Water Bottle,3,36.75\r\n"
         b"SO-1002,2025-09-17,West,Backpack,2,97.00\r\nSO-1003,2025-09-02,North,Notebook,12,57.00\r\n"
         b'SO-1004,2025-09-15,South,"Desk Lamp, LED",2,4918.50\r\n')


def rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode())))


def tiny_png(width: int, height: int) -> bytes:
    body = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    ihdr = struct.pack(">I", 13) + b"IHDR" + body + struct.pack(">I", zlib.crc32(b"IHDR" + body))
    return b"\x89PNG\r\n\x1a\n" + ihdr


def test_numbers_change_and_everything_else_keeps_its_shape() -> None:
    assert [other_number(n) for n in ("3", "36.75", "97.00", "-2", "0")] == ["9", "76.50", "197.00", "-1", "3"]
    before, after = rows(SALES), rows(other_csv(SALES.decode()).encode())
    assert after[0] == before[0] and len(after) == len(before) and all(len(r) == 6 for r in after)
    assert [r[:4] for r in after] == [r[:4] for r in before]  # ids, dates and text untouched
    assert after[1][4:] == ["9", "76.50"] and after[4][3] == "Desk Lamp, LED"
    assert other_csv(SALES.decode()).endswith("\r\n")  # line ends kept
    other = json.loads(perturb({"d.json": b'{"rows": [{"n": 1, "x": 2.5, "ok": true, "s": "a"}]}'}).files["d.json"])
    assert other == {"rows": [{"n": 5, "x": 8.0, "ok": True, "s": "a"}]}


def test_an_image_becomes_another_image_of_the_same_size_under_a_second_name_too() -> None:
    other = perturb({"sample.png": tiny_png(200, 70), "notes.txt": b"12"})
    assert other.changed == ("sample.png",)
    assert set(other.files) == {"sample.png", OTHER_IMAGES + "sample.png"} and other.renamed == {
        "sample.png": OTHER_IMAGES + "sample.png"}
    assert image_size(other.files["sample.png"]) == (200, 70) and other.files["sample.png"] != tiny_png(200, 70)
    assert image_size(b"GIF89a" + struct.pack("<HH", 31, 9)) == (31, 9)
    assert image_size(other_image(b"not an image")) == (200, 70)


def test_figures_are_sums_means_extremes_group_totals_and_products_never_counts() -> None:
    found = figures("data.csv", SALES)
    assert found["data.csv: sum of sales"].value == 5109.25
    assert found["data.csv: maximum of units"].value == 12
    assert found["data.csv: sum of sales where region = North"].value == 93.75
    assert found["data.csv: sum of units x sales"].value == 3 * 36.75 + 2 * 97 + 12 * 57 + 2 * 4918.5
    assert not any("order_id" in key for key in found)  # an id column (one group per row) is no category
    assert not any(f.value == 4 and "count" in key for key, f in found.items())
    nested = figures("d.json", b'{"meta": {"rate": 1.5}, "items": [{"v": 2}, {"v": 40}], "xs": [1, 2]}')
    assert nested["d.json: value of meta.rate"].value == 1.5 and nested["d.json items: sum of v"].value == 42
    assert nested["d.json xs: sum of value"].value == 3


def test_numbers_as_pages_write_them() -> None:
    assert [(n.text, n.value) for n in shown_numbers("Total: $5,109.25 in 2025 (SO-1001, h1, v2.0.1)")] == [
        ("5,109.25", 5109.25), ("2025", 2025.0)]
    [total] = shown_numbers("5109.3")
    assert shows(total, 5109.25) and not shows(total, 5109.36)
    [small] = shown_numbers("Top 3")
    assert not shows(small, 3.0)  # small whole numbers are in every text
    [whole] = shown_numbers("42")
    assert shows(whole, 42.0) and not shows(whole, 42.4)


def test_the_rule_flags_a_typed_figure_and_spares_computed_figures_titles_and_counts() -> None:
    other = perturb({"data.csv": SALES})
    data = changing_figures({"data.csv": SALES}, other.files)
    assert "data.csv: sum of sales" in {f.key for f in data}
    [check] = plan_checks([{"js": "parseFloat(document.querySelector('#total').textContent) > 0"}]).checks
    read = (("#total", ("Total: 5109.25",)), ("h1", ("Sales 2025-09",)), ("#rows", ("4",)))
    bound = bound_values(check, read, data, image=False)
    assert bound == [Bound("#total", 0, "5109.25", "data.csv: sum of sales")]
    assert still_shown(bound, (("#total", ("Total: 5109.25",)),)) == bound  # typed in
    assert still_shown(bound, (("#total", ("Total: 10227.50",)),)) == []  # computed
    assert still_shown(bound, (("#total", ()),)) == []  # gone: not a copy either


def test_an_image_check_binds_the_literal_it_expects_not_its_selectors_or_titles() -> None:
    check_text = {"js": "document.querySelector('#solution').textContent.trim() === 'XK4P' && "
                        "document.title === 'Captcha Solver' && location.search.startsWith('?url=')"}
    [check] = plan_checks([check_text], attachments=["sample.png"]).checks
    assert reads_image(check, {"sample.png": OTHER_IMAGES + "sample.png"})
    assert literals(check) == ["XK4P", "Captcha Solver"]
    read = (("#solution", ("XK4P",)),)
    assert bound_values(check, read, [], image=True) == [
        Bound("#solution", 0, "XK4P", "the value the check expects for the image it opens the page with", False)]
    [plain] = plan_checks([{"js": "document.querySelector('#solution').textContent === 'XK4P'"}]).checks
    assert not reads_image(plain, {"sample.png": OTHER_IMAGES + "sample.png"})


def test_data_we_cannot_read_has_no_figures_and_is_served_as_it_is() -> None:
    broken = {"bad.csv": b'a,b\n1,"' + b"x" * 200_000 + b'"\n',  # a field over the csv module's limit
              "bad.json": b"[" * 100_000 + b"]" * 100_000, "nope.json": b"{"}
    assert perturb(broken).files == {} and all(figures(n, d) == {} for n, d in broken.items())
