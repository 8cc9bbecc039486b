"""Repository checks read the assembled site as graders read the commit."""

from __future__ import annotations

from action.assemble import license_text
from action.verify.repo import check_repository

README = ("# Sales\n\nA summary of the site and what it does for its visitors, written plainly.\n\n## Setup\n\n"
          "Clone it and serve the folder with any static server.\n\n## Usage\n\nOpen the page in a browser; "
          "the total appears at once and refreshes from the data.\n\n## Code explanation\n\n`index.html` holds "
          "the page, `script.js` reads the CSV and sums it.\n\n## License\n\nMIT.\n")


def test_mit_license() -> None:
    ok, detail = check_repository("Repo has MIT license", {"LICENSE": license_text("octo", 2026).encode()}, {})
    assert ok, detail
    ok, detail = check_repository("Repo has MIT license", {"LICENSE": b"All rights reserved."}, {})
    assert not ok and "MIT" in detail
    ok, detail = check_repository("Repo has MIT license", {}, {})
    assert not ok and "no LICENSE" in detail


def test_readme_needs_a_title_sections_and_substance() -> None:
    ok, detail = check_repository("README.md is professional", {"README.md": README.encode()}, {})
    assert ok, detail
    ok, detail = check_repository("README.md is professional", {"README.md": b"# Sales\n\nTODO\n"}, {})
    assert not ok and "setup" in detail and "usage" in detail and "characters" in detail
    assert not check_repository("README is professional", {}, {})[0]


def test_files_present_absent_and_equal_to_attachments() -> None:
    site = {"data.csv": b"a,b\n1,2\n", "index.html": b"<p>"}
    attachments = {"data.csv": b"a,b\n1,2\n"}
    assert check_repository("data.csv is committed as-is", site, attachments)[0]
    ok, detail = check_repository("data.csv is committed as-is", {**site, "data.csv": b"changed"}, attachments)
    assert not ok and "differs from the attachment" in detail
    ok, detail = check_repository("config.json exists in the repo", site, {})
    assert not ok and "config.json is not in the repository" in detail
    assert check_repository("secrets.json is not committed", site, {})[0]
    ok, detail = check_repository("index.html must not be committed", site, {})
    assert not ok and "index.html is committed" in detail
