"""Later rounds through the real OpenRouter stand-in: edits that apply, repairs of blocks that do not, the
whole-file fallback, and what must never change (earlier attachments, LICENSE, files no edit targeted)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from action.assemble import METADATA_PATH, assemble
from action.coders.edit_blocks import EditBlockCoder
from action.generate import GenerationError, SoftChecks, generate
from action.llm import OpenRouterClient
from action.prompt import build_messages
from action.published import Published, earlier_attachments, published_files
from action.validate import Problem, ProblemKind
from deployer.brief import Brief, parse_brief
from deployer.models import Model
from tests.conftest import OpenRouter

SAMPLES = Path(__file__).resolve().parents[2] / "sandbox" / "briefs"
PAGE = ('<!doctype html>\n<html><head><title>Sales</title><script src="app.js"></script></head>\n<body>\n'
        '  <h1>Sales</h1>\n  <p id="total">10</p>\n  <a href="sales.csv">data</a>\n</body></html>\n')
APP = "document.title = 'Sales';\n"
CSV = b"region,sales\nnorth,4\nsouth,6\n"
TABLE = '  <p id="total">10</p>\n  <table id="by-region"><tr><td>north</td><td>4</td></tr></table>\n'
EXPECTED = PAGE.replace('  <p id="total">10</p>\n', TABLE)


def brief(round_number: int, text: str, **extra: Any) -> Brief:
    data: dict[str, Any] = {
        "email": "student@example.com", "task": "sum-of-sales", "round": round_number, "nonce": f"n-{round_number}",
        "brief": text, "evaluation_url": "http://127.0.0.1:9/notify", "checks": [f"check of round {round_number}"],
        "attachments": [],
    }
    data.update(extra)
    return parse_brief(data, require_secret=False)


def published() -> dict[str, bytes]:
    """Round 1 as it sits in the repository (written in 2025, so a LICENSE rewritten in 2026 would differ)."""
    first = brief(1, "Show the total of sales.csv in #total.",
                  attachments=[{"name": "sales.csv", "url": "data:text/csv,region%2Csales%0Anorth%2C4%0Asouth%2C6%0A"}])
    return assemble(first, {"index.html": PAGE, "app.js": APP}, owner="octo", year=2025)


def block(path: str, search: str, replace: str) -> str:
    return f"{path}\n<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n"


def revise(openrouter: OpenRouter, **kwargs: Any) -> Any:
    site = published()
    second = brief(2, "Add a table #by-region with the sales of each region.")
    client = OpenRouterClient(openrouter.key, ["sandbox/a"], base_url=openrouter.base_url)
    result = generate(second, client, Published.of(second, "octo", site), year=2026, **kwargs)
    return site, result


def last_user_text(request: dict[str, Any]) -> str:
    return [m for m in request["body"]["messages"] if m["role"] == "user"][-1]["content"][0]["text"]


def as_strong(request: Any) -> str:
    """The last user text of a request as a model trusted with edit blocks gets it."""
    return str(request(Model("sandbox/a", strong=True))[-1]["content"][-1]["text"])


def assert_round_two(site: dict[str, bytes], result: Any, index: str) -> None:
    assert result.site["index.html"] == index.encode()
    for untouched in ("app.js", "sales.csv", "LICENSE"):
        assert result.site[untouched] == site[untouched]
    assert b"2025 octo" in result.site["LICENSE"]
    readme = result.site["README.md"].decode()
    assert "Show the total of sales.csv" in readme and "Changes asked for in round 2" in readme
    assert "Add a table #by-region" in readme and "`sales.csv`" in readme
    assert [r["round"] for r in json.loads(result.site[METADATA_PATH])["rounds"]] == [1, 2]
    assert set(result.site) == set(site)


def test_an_edit_that_applies(openrouter: OpenRouter) -> None:
    openrouter.script({"content": block("index.html", '  <p id="total">10</p>\n', TABLE)})
    site, result = revise(openrouter)
    assert_round_two(site, result, EXPECTED)
    assert result.stats.repairs == 0
    (request,) = openrouter.requests()
    text = last_user_text(request)
    assert "SEARCH/REPLACE" in text and "<<<<<<< SEARCH" in request["body"]["messages"][0]["content"]
    assert '<attachment name="sales.csv" media-type="text/csv" round="1">\nregion,sales\nnorth,4' in text
    assert "<earlier-checks>\ncheck of round 1\n</earlier-checks>" in text


def test_a_search_that_does_not_match_is_sent_back_then_corrected(openrouter: OpenRouter) -> None:
    wrong = block("index.html", '  <p id="total">10</p>\n  <a href="data.csv">data</a>\n', TABLE)  # not sales.csv
    openrouter.script({"content": wrong}, {"content": block("index.html", '  <p id="total">10</p>\n', TABLE)})
    site, result = revise(openrouter)
    assert_round_two(site, result, EXPECTED)
    assert result.stats.repairs == 1
    repair = last_user_text(openrouter.requests()[1])
    assert 'index.html: the SEARCH text beginning "<p id="total">10</p>" was not found in the file' in repair
    assert f"<failed-block>\n{wrong.rstrip()}\n</failed-block>" in repair
    assert '<current path="index.html">' in repair and '  <a href="sales.csv">data</a>' in repair
    assert "SEARCH/REPLACE" in repair


def test_blocks_that_never_apply_end_in_whole_files_of_those_paths_only(openrouter: OpenRouter) -> None:
    wrong = {"content": block("index.html", "<p>nowhere</p>\n", TABLE)}
    whole = {"content": f'<file path="index.html">\n{EXPECTED}</file>\n'}
    openrouter.script(wrong, wrong, wrong, whole)
    site, result = revise(openrouter)
    assert_round_two(site, result, EXPECTED)
    assert result.stats.repairs == 3 and result.stats.completions == 4
    fallback = last_user_text(openrouter.requests()[3])
    assert "complete new content of only these files, each one whole" in fallback and ": index.html." in fallback
    assert "SEARCH/REPLACE" not in fallback and f'<current path="index.html">\n{PAGE}' in fallback


def test_a_fallback_without_the_file_fails_naming_it(openrouter: OpenRouter) -> None:
    wrong = {"content": block("index.html", "<p>nowhere</p>\n", TABLE)}
    openrouter.script(wrong, wrong, wrong, {"content": '<file path="other.js">\nx();\n</file>\n'})
    with pytest.raises(GenerationError, match=r"index\.html: was asked for as a whole file and not sent") as caught:
        revise(openrouter)
    assert caught.value.stats.completions == 4 and len(openrouter.requests()) == 4


def test_rewriting_an_earlier_attachment_is_refused_then_repaired(openrouter: OpenRouter) -> None:
    openrouter.script({"content": '<file path="sales.csv">\nregion,sales\n</file>\n'},
                      {"content": block("index.html", '  <p id="total">10</p>\n', TABLE)})
    site, result = revise(openrouter)
    assert_round_two(site, result, EXPECTED)
    repair = last_user_text(openrouter.requests()[1])
    assert "sales.csv: is an attachment, committed as-is and read-only" in repair
    assert result.site["sales.csv"] == CSV


def test_edit_round_tokens_against_a_full_rewrite_of_the_same_change(openrouter: OpenRouter) -> None:
    """The sum-of-sales round 2 sample on round 1's published site, answered by the built-in model both ways."""
    r1, r2 = (parse_brief(json.loads((SAMPLES / f"sum-of-sales.r{n}.json").read_text())) for n in (1, 2))
    client = OpenRouterClient(openrouter.key, ["sandbox/a"], base_url=openrouter.base_url)
    first = generate(r1, client, Published.of(r1, "octo"), year=2026)
    existing, meta = published_files(first.site)
    context = earlier_attachments(first.site, meta, r2)
    assert [name for name, _, _ in context] == ["data.csv"]
    usage = {}
    for edits in (True, False):
        answer = client.complete(build_messages(r2, existing, r1.checks, earlier_attachments=context, edits=edits))
        usage[edits] = answer.usage
        assert ("<<<<<<< SEARCH" in answer.content) is edits
    edit, full = usage[True], usage[False]
    ratio = (edit.prompt_tokens + edit.completion_tokens) / (full.prompt_tokens + full.completion_tokens)
    print(f"edit round: {edit.prompt_tokens} prompt + {edit.completion_tokens} completion tokens; full rewrite: "
          f"{full.prompt_tokens} + {full.completion_tokens}; ratio {ratio:.2f} (target <= 0.4); completion only "
          f"{edit.completion_tokens / full.completion_tokens:.2f}")
    assert edit.completion_tokens < full.completion_tokens


def test_a_check_repair_whose_edits_never_apply_keeps_the_valid_site(openrouter: OpenRouter) -> None:
    # the REPLACE text is not TABLE, which the first answer applied (a block whose REPLACE is there is applied)
    wrong = {"content": block("index.html", "<p>nowhere</p>\n", TABLE.replace("north", "south"))}
    openrouter.script({"content": block("index.html", '  <p id="total">10</p>\n', TABLE)}, wrong, wrong, wrong,
                      {"content": '<file path="other.js">\nx();\n</file>\n'})
    failing = Problem("(checks)", "#by-region has no rows for south")
    site, result = revise(openrouter, soft_checks=SoftChecks(lambda _site: [failing], max_repairs=1))
    assert_round_two(site, result, EXPECTED)
    assert result.unresolved == [failing] and result.stats.completions == 5
    assert "#by-region has no rows for south" in last_user_text(openrouter.requests()[1])


def test_a_new_rounds_attachments_are_committed_byte_exact_over_earlier_ones(openrouter: OpenRouter) -> None:
    site = published()
    openrouter.script({"content": block("index.html", '  <p id="total">10</p>\n', TABLE)})
    client = OpenRouterClient(openrouter.key, ["sandbox/a"], base_url=openrouter.base_url)
    newer = brief(2, "Use the new sales.csv and show logo.svg.", attachments=[
        {"name": "sales.csv", "url": "data:text/csv,region%2Csales%0Aeast%2C7%0A"},
        {"name": "logo.svg", "url": "data:image/svg+xml,%3Csvg%2F%3E"}])
    result = generate(newer, client, Published.of(newer, "octo", site), year=2026)
    assert result.site["sales.csv"] == b"region,sales\neast,7\n" and result.site["logo.svg"] == b"<svg/>"
    assert result.site["app.js"] == site["app.js"] and result.site["LICENSE"] == site["LICENSE"]
    text = last_user_text(openrouter.requests()[0])
    assert 'round="1"' not in text  # this round's sales.csv replaces round 1's: no read-only copy of the old one


def test_regressions_name_files_changed_or_dropped_without_an_edit() -> None:
    site = published()
    second = brief(2, "Change nothing.")
    revision = EditBlockCoder(second, Published.of(second, "octo", site))
    revision.changed.add("index.html")
    changed = {**site, "index.html": b"<html>new</html>", "app.js": b"tampered();\n"}
    del changed["sales.csv"]
    assert [str(p) for p in revision.regressions(changed)] == [
        "app.js: changed although no edit targeted it", "sales.csv: was published in an earlier round and is missing",
    ]
    assert revision.regressions({**site, "README.md": b"new", METADATA_PATH: b"{}"}) == []


def test_round_three_edits_round_twos_site_and_keeps_every_earlier_round(openrouter: OpenRouter) -> None:
    openrouter.script({"content": block("index.html", '  <p id="total">10</p>\n', TABLE)})
    _, second = revise(openrouter)
    openrouter.script({"content": block("index.html", "  <h1>Sales</h1>\n", "  <h1>Regional sales</h1>\n")})
    client = OpenRouterClient(openrouter.key, ["sandbox/a"], base_url=openrouter.base_url)
    rename = brief(3, "Rename the heading to Regional sales.")
    third = generate(rename, client, Published.of(rename, "octo", second.site), year=2027)
    assert third.site["index.html"] == EXPECTED.replace("<h1>Sales</h1>", "<h1>Regional sales</h1>").encode()
    for untouched in ("app.js", "sales.csv", "LICENSE"):
        assert third.site[untouched] == second.site[untouched]
    assert [r["round"] for r in json.loads(third.site[METADATA_PATH])["rounds"]] == [1, 2, 3]
    readme = third.site["README.md"].decode()
    assert "Changes asked for in round 2" in readme and "Changes asked for in round 3" in readme
    text = last_user_text(openrouter.requests()[-1])
    assert "<earlier-checks>\ncheck of round 1\ncheck of round 2\n</earlier-checks>" in text
    assert '<attachment name="sales.csv" media-type="text/csv" round="1">' in text


def test_a_published_workflow_is_kept_but_not_offered_for_editing(openrouter: OpenRouter) -> None:
    workflow = b"on: push\njobs: {}\n"
    site = {**published(), ".github/workflows/ci.yml": workflow}
    openrouter.script({"content": block("index.html", '  <p id="total">10</p>\n', TABLE)})
    client = OpenRouterClient(openrouter.key, ["sandbox/a"], base_url=openrouter.base_url)
    table = brief(2, "Add a table.")
    result = generate(table, client, Published.of(table, "octo", site), year=2026)
    assert result.site[".github/workflows/ci.yml"] == workflow
    assert ".github/workflows/ci.yml" not in last_user_text(openrouter.requests()[0])


def test_a_later_rounds_check_repair_says_which_checks_failed_not_that_edits_failed() -> None:
    site = published()
    second = brief(2, "Change nothing.")
    revision = EditBlockCoder(second, Published.of(second, "octo", site))
    failing = Problem("browser check", "check #total -> failed: returned false", ProblemKind.CHECK)
    text = as_strong(revision.repair_messages("answer", [failing]))
    assert "These checks failed:\n\n<problems>\n- browser check: check #total -> failed" in text
    assert "could not be applied" not in text and "could not be used" not in text and "SEARCH/REPLACE" in text
    edit = Problem("index.html", "SEARCH was not found", ProblemKind.EDIT)
    both = as_strong(revision.repair_messages("answer", [failing, edit]))
    assert both.index("Some of your edit blocks could not be applied") < both.index("These checks failed")


def test_the_files_the_plan_says_the_change_touches_are_sent_whole() -> None:
    """The round plan's `touches` (issue 20) feeds the lean round 2: a file the brief does not name, which the
    outline would hide, goes whole when the plan says the change touches it."""
    long_js = "".join(f"function step{i}(rows) {{\n  return rows.length + {i};\n}}\n" for i in range(40))
    site = {**published(), "app.js": long_js.encode()}
    second = brief(2, "Add a table #by-region with the sales of each region.")
    outlined = as_strong(EditBlockCoder(second, Published.of(second, "octo", site)).first_messages())
    assert '<outline path="app.js"' in outlined and '<file path="app.js">' not in outlined
    planned = as_strong(EditBlockCoder(second, Published.of(second, "octo", site), touches=("app.js",))
                        .first_messages())
    assert '<file path="app.js">' in planned and '<outline path="app.js"' not in planned
