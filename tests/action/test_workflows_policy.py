"""Generated CI workflows: when they are allowed, our policy (least permissions, no secrets), the lint, and the
files a brief keeps out of the repository (read from the brief by `action/brief_patterns.py`, kept out by the commit
plan)."""

from __future__ import annotations

from typing import Any

import pytest

from action.brief_patterns import excluded_files, fixable_attachments, wants_workflow
from action.plan import CommitPlan, ExcludedFileInCommit, plan_commit, tree_entries
from action.workflow_policy import deploys_pages, lint_problems, push_workflows, workflow_problems
from deployer.brief import Brief, parse_brief

GOOD = """name: ci
on:
  push:
    branches: [main]
permissions:
  contents: read
  pages: write
  id-token: write
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: ruff check .
      - run: python execute.py > result.json
      - uses: actions/upload-pages-artifact@v3
        with:
          path: .
  deploy:
    needs: build
    runs-on: ubuntu-latest
    environment:
      name: github-pages
      url: ${{ steps.deployment.outputs.page_url }}
    steps:
      - id: deployment
        uses: actions/deploy-pages@v4
"""
CI = ".github/workflows/ci.yml"


def make_brief(text: str, checks: list[Any] | None = None) -> Brief:
    return parse_brief({"email": "a@example.com", "task": "t", "round": 1, "nonce": "n", "brief": text,
                        "evaluation_url": "http://127.0.0.1:9/", "checks": checks or [],
                        "attachments": [{"name": "data.xlsx", "url": "data:application/octet-stream;base64,AA=="}]},
                       require_secret=False)


def test_workflows_are_allowed_only_when_the_brief_asks_for_ci() -> None:
    assert wants_workflow(make_brief("Add .github/workflows/ci.yml that runs ruff."))
    assert wants_workflow(make_brief("Build a page.", ["GitHub Actions ran for this commit"]))
    assert not wants_workflow(make_brief("Show the CIK of a company from ?CIK=."))


def test_a_least_privilege_workflow_without_secrets_passes_policy_and_lint() -> None:
    assert workflow_problems({CI: GOOD}) == []
    assert lint_problems({CI: GOOD}) == []
    assert deploys_pages({CI: GOOD}) and not deploys_pages({CI: GOOD.replace("deploy-pages", "upload-artifact")})


@pytest.mark.parametrize(("text", "message"), [
    (GOOD.replace("      - run: ruff check .\n", "      - run: curl -H \"${{ secrets.DEPLOY_KEY }}\" x\n"),
     "reads secrets.DEPLOY_KEY"),
    (GOOD.replace("permissions:\n  contents: read\n  pages: write\n  id-token: write\n", ""),
     "sets no `permissions`"),
    (GOOD.replace("permissions:\n  contents: read\n", "permissions: write-all\n").replace(
        "  pages: write\n  id-token: write\n", "", 1), "`permissions: write-all`"),
    (GOOD.replace("contents: read", "actions: write"), "write access to actions"),
    (GOOD.replace("  push:\n", "  pull_request_target:\n"), "pull_request_target"),
    ("on: [push\n", "is not a YAML mapping"),
])
def test_policy_problems_are_named(text: str, message: str) -> None:
    problems = workflow_problems({CI: text})
    assert any(p.path == CI and message in p.message for p in problems), problems


def test_lint_reports_what_actionlint_finds_with_our_path() -> None:
    broken = GOOD.replace("    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n",
                          "    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n"
                          "        if: ${{ github.nope.x }}\n", 1)
    problems = lint_problems({CI: broken})
    assert problems and all(p.path == CI for p in problems)
    assert any("nope" in p.message for p in problems)


def test_files_the_brief_keeps_out_are_found_dropped_and_proved_absent() -> None:
    brief = make_brief("Fix execute.py, convert data.xlsx to data.csv and commit it. Add ci.yml that runs "
                       "`python execute.py > result.json` and publishes result.json on Pages; do not commit "
                       "result.json. Commit uid.txt as-is.", ["logs.txt is NOT committed", "data.csv exists"])
    assert excluded_files(brief) == {"result.json", "logs.txt"}
    site = {"index.html": b"x", "result.json": b"{}", "data.csv": b"a\n"}
    kept = plan_commit(brief, site, excluded_files(brief))
    assert {e.path for e in kept.entries} == {"index.html", "data.csv"}
    with pytest.raises(ExcludedFileInCommit, match=r"result\.json must not be committed"):
        CommitPlan(kept.message, tree_entries(site), kept.excluded)  # however a plan is made, it cannot hold one
    assert excluded_files(make_brief("Never commit data.xlsx; do not commit index.html")) == set()


def test_push_workflows_are_those_a_push_to_the_branch_starts() -> None:
    files = {CI: GOOD, ".github/workflows/tags.yml": "on:\n  push:\n    tags: ['v*']\njobs: {}\n",
             ".github/workflows/dev.yml": "on:\n  push:\n    branches: ['dev/*']\njobs: {}\n",
             ".github/workflows/all.yml": "on: [push, pull_request]\njobs: {}\n",
             ".github/workflows/manual.yml": "on: workflow_dispatch\njobs: {}\n"}
    assert push_workflows(files, "main") == [".github/workflows/all.yml", CI]


def test_attachments_the_brief_asks_to_fix_may_be_rewritten_but_never_as_is_ones() -> None:
    brief = parse_brief({
        "email": "a@example.com", "task": "t", "round": 1, "nonce": "n", "evaluation_url": "http://127.0.0.1:9/",
        "brief": "You are given execute.py (with a bug) and data.xlsx: fix the bug. Commit uid.txt as-is.",
        "attachments": [{"name": n, "url": "data:text/plain,x"} for n in ("execute.py", "data.xlsx", "uid.txt")],
    }, require_secret=False)
    assert fixable_attachments(brief) == {"execute.py"}  # the bug is execute.py's, not the spreadsheet's
    assert fixable_attachments(make_brief("Show data.xlsx as a table.")) == set()
