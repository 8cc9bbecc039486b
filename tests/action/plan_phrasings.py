"""Briefs written as people write them, each with the decisions a careful reader takes from it: which attachments
may be rewritten (and which must stay byte for byte), which files must never be committed, whether a CI workflow
and a build step are asked for. The round planner (the model's plan, and the sentence patterns as its fallback)
must take exactly these decisions (tests/action/test_planner.py)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from action.round_plan import RoundPlan
from deployer.brief import Brief, parse_brief

MEDIA = {"py": "text/x-python", "js": "text/javascript", "csv": "text/csv", "json": "application/json",
         "md": "text/markdown", "txt": "text/plain", "css": "text/css", "png": "image/png",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
CONTENT = {"py": b"import csv\nprint(sum(1 for _ in open('data.csv')))\n", "js": b"const total = 0;\n",
           "csv": b"region,sales\nnorth,10\nsouth,7\n", "json": b"{\"a\": 1}\n", "md": b"# Notes\n",
           "txt": b"uid-7f3a\n", "css": b"body { margin: 0; }\n", "png": b"\x89PNG\r\n\x1a\n\x00",
           "xlsx": b"PK\x03\x04 not really a workbook"}


@dataclass(frozen=True)
class Phrasing:
    brief: str
    attachments: tuple[str, ...] = ()
    rewrite: frozenset[str] = frozenset()
    keep: frozenset[str] = frozenset()  # named as-is / unchanged / byte for byte
    excluded: frozenset[str] = frozenset()
    workflow: bool = False
    build: bool = False
    checks: tuple[Any, ...] = field(default_factory=tuple)

    def make(self, task: str = "phrasing", round_number: int = 1) -> Brief:
        return parse_brief({
            "email": "a@example.com", "task": task, "round": round_number, "nonce": "n", "brief": self.brief,
            "evaluation_url": "http://127.0.0.1:9/", "checks": list(self.checks),
            "attachments": [{"name": n, "url": data_uri(n)} for n in self.attachments]}, require_secret=False)


def assert_decisions(plan: RoundPlan, phrasing: Phrasing) -> None:
    """The plan takes the phrasing's intended decisions, whoever made it."""
    assert plan.rewritable == phrasing.rewrite
    assert {a.name for a in plan.attachments if a.use == "keep"} == phrasing.keep
    assert plan.excluded == phrasing.excluded
    assert plan.workflows_allowed is phrasing.workflow
    assert bool(plan.build) is phrasing.build
    assert [a.name for a in plan.attachments] == list(phrasing.attachments)


def data_uri(name: str) -> str:
    ext = name.rsplit(".", 1)[-1]
    return f"data:{MEDIA[ext]};base64,{base64.b64encode(CONTENT[ext]).decode()}"


def s(*names: str) -> frozenset[str]:
    return frozenset(names)


PHRASINGS: list[Phrasing] = [
    # fixing an attached script
    Phrasing("You are given execute.py (with a bug) and data.xlsx: fix the bug, convert data.xlsx to data.csv and "
             "commit it.", ("execute.py", "data.xlsx"), rewrite=s("execute.py"), build=True),
    Phrasing("Commit execute.py to the repository after fixing the off-by-one bug in it.", ("execute.py",),
             rewrite=s("execute.py")),
    Phrasing("Fix the bug in analyze.py and commit it. The page shows what it prints for data.csv.",
             ("analyze.py", "data.csv"), rewrite=s("analyze.py")),
    Phrasing("The attached script.js has a bug: the total skips the first row. Correct it and publish the fixed "
             "file.", ("script.js", "data.csv"), rewrite=s("script.js")),
    Phrasing("Update app.js so the chart uses a logarithmic scale, and keep the rest of the page as it is.",
             ("app.js",), rewrite=s("app.js")),
    Phrasing("Replace the placeholder API URL in config.js with https://api.example.com and commit it.",
             ("config.js",), rewrite=s("config.js")),
    Phrasing("Use styles.css as-is; fix the bug in main.js.", ("styles.css", "main.js"), rewrite=s("main.js"),
             keep=s("styles.css")),
    Phrasing("Debug parser.js: it crashes on empty lines. Commit the working version.", ("parser.js",),
             rewrite=s("parser.js")),
    Phrasing("Complete the TODOs in game.js so the board can be played, then publish it.", ("game.js",),
             rewrite=s("game.js")),
    Phrasing("Commit the corrected version of convert.py (the attached one divides by the wrong column).",
             ("convert.py",), rewrite=s("convert.py")),
    Phrasing("Please commit report.py only after fixing it, since it currently crashes on an empty input.",
             ("report.py",), rewrite=s("report.py")),
    # attachments kept byte for byte or used as data
    Phrasing("Publish index.html that shows the rows of data.csv in a table.", ("data.csv",)),
    Phrasing("Commit uid.txt as-is and show its contents on the page.", ("uid.txt",), keep=s("uid.txt")),
    Phrasing("Include notes.md byte for byte; do not modify it.", ("notes.md",), keep=s("notes.md")),
    Phrasing("The attached helper.py must be committed unchanged. Fix the typo in the page title.", ("helper.py",),
             keep=s("helper.py")),
    Phrasing("Render the notes from notes.md on the page; do not edit notes.md.", ("notes.md",), keep=s("notes.md")),
    Phrasing("Display logo.png in the header and list the products from products.json.",
             ("logo.png", "products.json")),
    # converting a spreadsheet, fetching data at build time
    Phrasing("Convert sales.xlsx to sales.csv at build time and chart the monthly totals.", ("sales.xlsx",),
             build=True),
    Phrasing("Fetch the latest figures from https://data.sec.gov/api/xbrl/frames.json at build time and write "
             "data.json for the page.", build=True),
    Phrasing("Turn the attached budget.xlsx into budget.json during the build and show it as a chart.",
             ("budget.xlsx",), build=True),
    # excluding a data file
    Phrasing("Generate report.html at build time but do not commit it.", build=True, excluded=s("report.html")),
    Phrasing("Keep raw.json out of the repository; the page reads the summary from the API instead.",
             excluded=s("raw.json")),
    Phrasing("Never push output.csv to the repository.", excluded=s("output.csv")),
    Phrasing("Do not check in dist.zip or any build output.", excluded=s("dist.zip")),
    Phrasing("Publish a page that describes the dataset.", checks=("result.json is not committed",),
             excluded=s("result.json")),
    Phrasing("The generated summary.json should not be in the repository; compute it in the browser.",
             excluded=s("summary.json")),
    # CI with a linter and a generated result file
    Phrasing("Add a GitHub Actions workflow that runs ruff on every push.", workflow=True),
    Phrasing("Set up CI that runs the linter and the unit tests.", workflow=True),
    Phrasing("Add .github/workflows/ci.yml that runs pytest.", workflow=True),
    Phrasing("Run `python execute.py > result.json` in CI and publish result.json on Pages; do not commit "
             "result.json.", ("execute.py",), workflow=True, excluded=s("result.json")),
    Phrasing("Add a workflow that runs `python execute.py > result.json` and deploys Pages; result.json must not "
             "be committed.", ("execute.py",), workflow=True, excluded=s("result.json")),
    Phrasing("Add CI with a linter (ruff) and a job that generates result.json from data.csv; do not commit the "
             "generated result.json.", ("data.csv",), workflow=True, excluded=s("result.json")),
    Phrasing("You are given execute.py (with a bug) and data.xlsx: fix the bug, convert data.xlsx to data.csv and "
             "commit it, add .github/workflows/ci.yml that runs ruff and `python execute.py > result.json` and "
             "publishes result.json on GitHub Pages; do not commit result.json.", ("execute.py", "data.xlsx"),
             rewrite=s("execute.py"), workflow=True, build=True, excluded=s("result.json")),
    Phrasing("Build a page.", checks=("GitHub Actions ran for this commit",), workflow=True),
    # nothing special
    Phrasing("Show the CIK of a company given in ?CIK= and its name.", checks=("Page displays the CIK",)),
    Phrasing("Build a quiz page about CI/CD pipelines; the questions come from quiz.json.", ("quiz.json",)),
    Phrasing('Publish a single-page site that sums the sales column of data.csv, sets the title to "Sales Summary '
             'iklj4" and displays the total inside #total-sales.', ("data.csv",),
             checks=({"js": "document.title === `Sales Summary iklj4`"},)),
    Phrasing("Create a captcha solver that handles ?url=https://.../image.png. Default to attached sample.",
             ("sample.png",)),
]
