"""The published state read into one value, and the round's plan built from it and the brief: each alone, without
I/O, and a plan filled by another planner than the sentence patterns steering generation."""

from __future__ import annotations

import json
from typing import Any

from action.assemble import METADATA_PATH
from action.generate import generate
from action.llm import OpenRouterClient
from action.plan import plan_commit
from action.published import Published
from action.round_plan import AttachmentUse, RoundPlan, plan_round, site_prefix
from deployer.brief import Brief, parse_brief
from tests.conftest import OpenRouter

CI = ".github/workflows/ci.yml"
DEPLOYS = ("on:\n  push:\n    branches: [main]\npermissions: {contents: read, pages: write, id-token: write}\n"
           "jobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/deploy-pages@v4\n")


def make_brief(text: str, round_number: int = 1, **extra: Any) -> Brief:
    data: dict[str, Any] = {"email": "a@example.com", "task": "sales", "round": round_number, "nonce": "n",
                            "brief": text, "evaluation_url": "http://127.0.0.1:9/", "checks": [], "attachments": []}
    data.update(extra)
    return parse_brief(data, require_secret=False)


def round_one_tree() -> dict[str, bytes]:
    meta = {"task": "sales", "rounds": [
        {"round": 1, "nonce": "a", "brief": "Sum it.", "checks": ["#total shows 10", {"js": "x()"}],
         "attachments": ["data.csv", "logo.png"]}]}
    return {"index.html": b"<p id=total>10</p>", "app.js": b"x();\n", "data.csv": b"a\n10\n",
            "logo.png": b"\x89PNG\x00", "LICENSE": b"MIT License", "README.md": b"# sales",
            METADATA_PATH: json.dumps(meta).encode()}


def test_the_published_state_is_derived_once_from_the_tree() -> None:
    brief = make_brief("Add a chart.", 2, attachments=[{"name": "logo.png", "url": "data:image/png;base64,AA=="}])
    published = Published.of(brief, "octo", round_one_tree(), head="h" * 40)
    assert (published.owner, published.name, published.head, published.repo) == ("octo", "sales", "h" * 40, None)
    assert published.model_files == {"index.html": "<p id=total>10</p>", "app.js": "x();\n"}
    assert published.metadata is not None and published.metadata["rounds"][0]["nonce"] == "a"
    assert published.earlier_checks == ("#total shows 10", {"js": "x()"})
    # this round's logo.png replaces round 1's: only data.csv is an earlier attachment
    assert [(a.name, a.round, a.data) for a in published.earlier_attachments] == [("data.csv", 1, b"a\n10\n")]
    nothing = Published.of(brief, "octo")
    assert (nothing.files, nothing.model_files, nothing.metadata, nothing.earlier_checks) == ({}, {}, None, ())


def test_the_plan_of_the_sentence_patterns() -> None:
    brief = make_brief("Fix execute.py and commit it. Add a GitHub Actions workflow that writes result.json; do not "
                       "commit result.json.", attachments=[{"name": "execute.py", "url": "data:text/plain,x"}])
    plan = plan_round(brief, Published.of(brief, "octo"))
    assert plan == RoundPlan(
        workflows_allowed=True, workflow="Add a GitHub Actions workflow that writes result.json",
        excluded=frozenset({"result.json"}),
        attachments=(AttachmentUse("execute.py", "rewrite", "Fix execute.py and commit it."),),
        files=("index.html",), site_prefix="/sales/")
    assert plan.rewritable == frozenset({"execute.py"})
    assert plan_round(make_brief("Show a page."), Published.of(brief, "octo")) == RoundPlan(
        files=("index.html",), site_prefix="/sales/")


def test_the_site_prefix_is_where_pages_serves_the_repository() -> None:
    assert site_prefix("octo", "sales") == "/sales/"
    assert site_prefix("octo", "octo.github.io") == "/" and site_prefix("Octo", "octo.GitHub.io") == "/"
    assert site_prefix("octo", "other.github.io") == "/other.github.io/"
    user_site = make_brief("Home page.", task="octo.github.io")
    assert plan_round(user_site, Published.of(user_site, "octo")).site_prefix == "/"


def test_the_commit_plan_says_what_its_push_starts() -> None:
    brief = make_brief("CI that deploys Pages.")
    with_ci = plan_commit(brief, {"index.html": b"<p>x</p>", CI: DEPLOYS.encode()})
    assert with_ci.pages_build_type == "workflow" and with_ci.push_workflows("main") == [CI]
    assert with_ci.push_workflows("dev") == []
    plain = plan_commit(brief, {"index.html": b"<p>x</p>"})
    assert plain.pages_build_type == "legacy" and plain.push_workflows("main") == []
    assert plain.content("index.html") == b"<p>x</p>" and plain.content("missing.js") is None


def test_a_plan_from_another_planner_lets_the_model_rewrite_an_attachment(openrouter: OpenRouter) -> None:
    """The patterns see no request to fix script.py; a plan that says so is what generation follows."""
    brief = make_brief("Publish script.py with a page that links to it.",
                       attachments=[{"name": "script.py", "url": "data:text/plain,print(1%2B)%0A"}])
    assert plan_round(brief, Published.of(brief, "octo")).rewritable == frozenset()
    page = '<!doctype html><html><head><title>s</title></head><body><a href="script.py">script</a></body></html>\n'
    answer = f'<file path="index.html">\n{page}</file>\n<file path="script.py">\nprint(1 + 1)\n</file>\n'
    openrouter.script({"content": answer})
    client = OpenRouterClient(openrouter.key, ["sandbox/a"], base_url=openrouter.base_url)
    planned = RoundPlan(attachments=(AttachmentUse("script.py", "rewrite", "Publish script.py"),),
                        site_prefix="/sales/")
    result = generate(brief, client, Published.of(brief, "octo"), planned, year=2026)
    assert result.site["script.py"] == b"print(1 + 1)\n" and result.stats.repairs == 0
