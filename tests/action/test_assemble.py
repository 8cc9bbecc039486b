"""The assembled site: byte-exact attachments, LICENSE and README by code, metadata across rounds, determinism."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from action.assemble import METADATA_PATH, assemble, file_summary, license_text
from action.published import earlier_checks, published_files, read_metadata
from deployer.brief import Brief, parse_brief

BINARY = bytes(range(256))
PAGE = ("<!doctype html><html><head><title>Sales  total</title><link rel=stylesheet href=style.css>"
        "<script src=app.js></script></head><body><script>x()</script></body></html>")
FILES = {"index.html": PAGE, "app.js": "function total(a) {}\nconst fmt = (x) => x;\n", "style.css": "body{}"}


def make_brief(**overrides: Any) -> Brief:
    data: dict[str, Any] = {
        "email": "student@example.com", "secret": "s3cret-brief-value", "task": "sum-of-sales", "round": 1,
        "nonce": "n-1", "brief": "Sum sales.csv and show it.", "evaluation_url": "http://127.0.0.1:9/notify",
        "checks": ["Repo has MIT license", {"js": "document.title === 'Sales'"}],
        "attachments": [
            {"name": "sales.csv", "url": "data:text/csv,region%2Csales%0D%0An%2C10"},
            {"name": "blob.bin", "url": "data:application/octet-stream;base64," + base64.b64encode(BINARY).decode()},
        ],
    }
    data.update(overrides)
    return parse_brief(data)


def site(**kwargs: Any) -> dict[str, bytes]:
    brief = kwargs.pop("brief", None) or make_brief()
    return assemble(brief, kwargs.pop("files", FILES), owner="octo", year=2026, **kwargs)


def test_site_holds_generated_files_attachments_and_code_written_files() -> None:
    result = site()
    assert list(result) == sorted(result)
    assert set(result) == {"index.html", "app.js", "style.css", "sales.csv", "blob.bin", "LICENSE", "README.md",
                           METADATA_PATH}
    assert result["index.html"] == PAGE.encode()
    assert result["sales.csv"] == b"region,sales\r\nn,10"
    assert result["blob.bin"] == BINARY


def test_license_is_mit_with_year_and_owner() -> None:
    text = site()["LICENSE"].decode()
    assert text.startswith("MIT License\n\nCopyright (c) 2026 octo\n\nPermission is hereby granted, free of charge")
    assert 'THE SOFTWARE IS PROVIDED "AS IS"' in text and "$" not in text


@pytest.mark.parametrize("owner", ["", "  ", "a\nb"])
def test_license_owner_must_be_one_line(owner: str) -> None:
    with pytest.raises(ValueError, match="owner"):
        license_text(owner, 2026)


def test_readme_has_every_section_and_explains_the_files() -> None:
    text = site()["README.md"].decode()
    headings = [line for line in text.splitlines() if line.startswith("#")]
    assert headings == ["# sum-of-sales", "## Setup", "## Usage", "## Code explanation", "## License"]
    assert "> Sum sales.csv and show it." in text
    assert '| `index.html` | HTML page "Sales total". Styles: `style.css`. Scripts: `app.js`. 1 inline script. |' \
        in text
    assert "| `app.js` | JavaScript defining `total()`, `fmt()`. |" in text
    assert "| `sales.csv` | Attachment supplied with the brief, committed unchanged. |" in text
    assert "[MIT License](LICENSE). Copyright (c) 2026 octo." in text
    assert "$" not in text


def test_nothing_private_is_written() -> None:
    result = site()
    for content in result.values():
        assert b"s3cret-brief-value" not in content and b"student@example.com" not in content


def test_secret_like_text_in_the_brief_is_redacted() -> None:
    token = "ghp_" + "A" * 36
    brief = make_brief(brief=f"Use {token} to call the API.", checks=[f"no {token}"])
    result = site(brief=brief, secrets=["sk-or-v1-real-key-1234567890"])
    for content in result.values():
        assert token.encode() not in content
    assert json.loads(result[METADATA_PATH])["rounds"][0]["brief"] == "Use [secret removed] to call the API."


def test_metadata_records_each_round_and_round_two_keeps_round_one() -> None:
    first = json.loads(site()[METADATA_PATH])
    assert first == {"task": "sum-of-sales", "rounds": [{
        "round": 1, "nonce": "n-1", "brief": "Sum sales.csv and show it.",
        "checks": ["Repo has MIT license", {"js": "document.title === 'Sales'"}],
        "attachments": ["sales.csv", "blob.bin"],
    }]}
    previous = read_metadata(site()[METADATA_PATH])
    brief2 = make_brief(round=2, nonce="n-2", brief="Add a chart.", checks=["has a chart"], attachments=[])
    second = site(brief=brief2, previous=previous)
    meta = json.loads(second[METADATA_PATH])
    assert [(r["round"], r["brief"]) for r in meta["rounds"]] == [
        (1, "Sum sales.csv and show it."), (2, "Add a chart."),
    ]
    assert "Changes asked for in round 2:\n\n> Add a chart." in second["README.md"].decode()
    rerun = json.loads(site(brief=brief2, previous=meta)[METADATA_PATH])
    assert rerun == meta


@pytest.mark.parametrize("raw", [None, b"not json", b"[]", b'{"rounds": 3}'])
def test_unreadable_metadata_is_none(raw: bytes | None) -> None:
    assert read_metadata(raw) is None


def test_reserved_names_are_written_by_code_and_attachments_win() -> None:
    files = {**FILES, "README.md": "model readme", "license": "GPL", "sales.csv": "fake",
             ".deployer/brief.json": "{}"}
    result = site(files=files)
    assert result["README.md"].startswith(b"# sum-of-sales")
    assert "license" not in result and result["LICENSE"].startswith(b"MIT License")
    assert result["sales.csv"] == b"region,sales\r\nn,10"
    assert json.loads(result[METADATA_PATH])["task"] == "sum-of-sales"


def test_nojekyll_only_when_jekyll_would_hide_a_file() -> None:
    assert ".nojekyll" not in site()
    assert site(files={**FILES, "_app/main.js": "1"})[".nojekyll"] == b""


def test_same_inputs_give_the_same_bytes() -> None:
    assert site() == site()


def test_file_summary_of_other_kinds() -> None:
    assert file_summary("data/x.json", "{}") == "Data (JSON)."
    assert file_summary("a.mjs", "export async function load() {}\n") == "JavaScript defining `load()`."
    assert file_summary("a.js", "1;") == "JavaScript."
    assert file_summary("page.html", "<p>x</p>") == "HTML page."
    assert file_summary("font.woff2", "") == "Site file."


def test_published_files_are_the_generated_ones_and_the_metadata() -> None:
    published = {**site(files={**FILES, "_x/latin1.txt": "é"}), "_x/raw.bin": b"\xff\xfe"}
    files, meta = published_files(published)
    assert files == {**FILES, "_x/latin1.txt": "é"}
    assert meta is not None and meta["rounds"][0]["attachments"] == ["sales.csv", "blob.bin"]
    assert published_files({"index.html": b"x"}) == ({"index.html": "x"}, None)


def test_earlier_checks_are_those_of_previous_rounds() -> None:
    meta = {"rounds": [{"round": 1, "checks": ["a", {"js": "b"}]}, {"round": 2, "checks": ["a", "c"]},
                       {"round": 3, "checks": ["d"]}]}
    assert earlier_checks(meta, 3) == ["a", {"js": "b"}, "c"]
    assert earlier_checks(meta, 1) == [] and earlier_checks(None, 2) == []


def test_an_attachment_the_brief_asks_to_fix_keeps_the_model_version_only_when_written() -> None:
    fixed = {**FILES, "sales.csv": "region,sales\nn,11\n"}
    assert site(files=fixed, rewritten={"sales.csv"})["sales.csv"] == b"region,sales\nn,11\n"
    assert site(files=fixed)["sales.csv"] == b"region,sales\r\nn,10"  # not fixable: the attachment wins
    assert site(rewritten={"sales.csv"})["sales.csv"] == b"region,sales\r\nn,10"  # not rewritten: kept as given
