"""Brief -> Site through the real OpenRouter stand-in: parse shapes, repairs, secrets, fallbacks, failures."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest

from action.assemble import METADATA_PATH
from action.generate import GenerationError, generate
from action.llm import LLMError, OpenRouterClient, RetryPolicy
from action.published import Published
from action.round_plan import RoundPlan
from deployer.brief import Brief, parse_brief
from tests.conftest import OpenRouter

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
PAGE = ("<!doctype html>\n<html><head><title>Sales</title><script src=\"app.js\"></script></head>\n"
        "<body><h1>Sales</h1><img src=\"logo.png\"><p id=\"total\">10</p></body></html>\n")
APP = "document.title = 'Sales';\n"
GOOD = f'<file path="index.html">\n{PAGE}</file>\n<file path="app.js">\n{APP}</file>\n'
TOKEN = "ghp_" + "Q7" * 18


def make_brief(**overrides: Any) -> Brief:
    data: dict[str, Any] = {
        "email": "student@example.com", "task": "sum-of-sales", "round": 1, "nonce": "n-1",
        "brief": "Show the total of sales.csv in #total.", "evaluation_url": "http://127.0.0.1:9/notify",
        "checks": ["#total shows 10"],
        "attachments": [{"name": "sales.csv", "url": "data:text/csv,region%2Csales%0An%2C10%0A"},
                        {"name": "logo.png", "url": "data:image/png;base64," + base64.b64encode(PNG).decode()}],
    }
    data.update(overrides)
    return parse_brief(data, require_secret=False)


class Waits(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        time.sleep(seconds)


def client(openrouter: OpenRouter, *models: str) -> OpenRouterClient:
    return OpenRouterClient(openrouter.key, models or ["sandbox/a"], base_url=openrouter.base_url,
                            retry=RetryPolicy(attempts=3, backoff=0.05, max_wait=2, sleep=Waits()))


def run(openrouter: OpenRouter, brief: Brief | None = None, *models: str,
        published: dict[str, bytes] | None = None, **kwargs: Any) -> Any:
    brief = brief or make_brief()
    return generate(brief, client(openrouter, *models), Published.of(brief, "octo", published), year=2026,
                    secrets=[openrouter.key], **kwargs)


def last_user_text(request: dict[str, Any]) -> str:
    user = [m for m in request["body"]["messages"] if m["role"] == "user"][-1]
    return user["content"][-1]["text"]  # the brief's part: images come first


def test_file_blocks_become_a_complete_site(openrouter: OpenRouter) -> None:
    openrouter.script({"content": "Here it is.\n" + GOOD,
                       "usage": {"prompt_tokens": 100, "completion_tokens": 40, "total_tokens": 140}})
    result = run(openrouter)
    assert set(result.site) == {"index.html", "app.js", "sales.csv", "logo.png", "LICENSE", "README.md",
                                METADATA_PATH, ".nojekyll"}
    assert result.site["index.html"] == PAGE.encode() and result.site["logo.png"] == PNG
    assert result.site["sales.csv"] == b"region,sales\nn,10\n"
    stats = result.stats
    assert (stats.model, stats.usage.total_tokens, stats.completions, stats.requests, stats.repairs) == (
        "sandbox/a", 140, 1, 1, 0)
    [request] = openrouter.requests()
    assert '<brief task="sum-of-sales" round="1">' in last_user_text(request)
    assert openrouter.key not in json.dumps(request["body"])


@pytest.mark.parametrize(
    "answer",
    [
        f"Sure!\n\n```html index.html\n{PAGE}```\n\n**app.js**\n```js\n{APP}```\n",
        f"<think>plan the page</think>\n```json\n{json.dumps({'files': {'index.html': PAGE, 'app.js': APP}})}\n```",
    ],
)
def test_fenced_and_json_answers_are_parsed(openrouter: OpenRouter, answer: str) -> None:
    openrouter.script({"content": answer})
    result = run(openrouter)
    assert result.files == {"index.html": PAGE, "app.js": APP} and result.stats.repairs == 0


def test_bare_html_answer_is_index_html(openrouter: OpenRouter) -> None:
    page = PAGE.replace('<script src="app.js"></script>', "")
    openrouter.script({"content": "The page:\n" + page + "\nDone."})
    assert run(openrouter).files == {"index.html": page}


def test_parent_path_and_workflow_are_rejected_then_repaired(openrouter: OpenRouter) -> None:
    bad = GOOD + '<file path="../escape.js">\n1;\n</file>\n<file path=".github/workflows/x.yml">\non: push\n</file>\n'
    openrouter.script({"content": bad}, {"content": GOOD})
    result = run(openrouter)
    assert set(result.files) == {"index.html", "app.js"}
    assert not any(p.startswith((".github", "..")) for p in result.site)
    assert (result.stats.completions, result.stats.repairs) == (2, 1)
    _first, second = openrouter.requests()
    text = last_user_text(second)
    assert "- ../escape.js: the path contains '..'" in text
    assert "- .github/workflows/x.yml: files under .github/" in text
    assert '<brief task="sum-of-sales" round="1">' in text
    assert [m["role"] for m in second["body"]["messages"]] == ["system", "user", "assistant", "user"]


def test_workflows_pass_when_the_brief_asks_for_one(openrouter: OpenRouter) -> None:
    openrouter.script({"content": GOOD + '<file path=".github/workflows/x.yml">\non: push\n</file>\n'})
    assert ".github/workflows/x.yml" in run(openrouter, plan=RoundPlan(workflows_allowed=True)).site


def test_a_token_is_repaired_away_and_never_sent_back(openrouter: OpenRouter) -> None:
    leaky = GOOD.replace(APP, f"const token = '{TOKEN}';\n")
    openrouter.script({"content": leaky}, {"content": GOOD})
    result = run(openrouter)
    assert all(TOKEN.encode() not in data for data in result.site.values())
    assert result.stats.repairs == 1
    second = openrouter.requests()[1]
    assert TOKEN not in json.dumps(second["body"])
    assert "app.js: contains what looks like a GitHub token" in last_user_text(second)


def test_a_token_that_stays_fails_after_two_repairs(openrouter: OpenRouter) -> None:
    leaky = GOOD.replace(APP, f"const token = '{TOKEN}';\n")
    openrouter.script({"content": leaky}, {"content": leaky}, {"content": leaky}, {"content": GOOD})
    with pytest.raises(GenerationError) as caught:
        run(openrouter)
    assert str(caught.value).startswith("the generated site still has 1 problem(s) after 2 repair(s): app.js: "
                                        "contains what looks like a GitHub token")
    assert TOKEN not in str(caught.value)
    assert len(openrouter.requests()) == 3


def test_the_api_key_value_is_caught_even_without_a_known_pattern(openrouter: OpenRouter) -> None:
    secret = "plain-shared-secret-value"
    leaky = GOOD.replace(APP, f"const k = '{secret}';\n")
    openrouter.script({"content": leaky}, {"content": GOOD})
    brief = make_brief(secret=secret)
    result = generate(brief, client(openrouter), Published.of(brief, "octo"), year=2026)
    assert result.stats.repairs == 1
    assert secret not in json.dumps(openrouter.requests()[1]["body"])


def test_junk_answer_is_repaired(openrouter: OpenRouter) -> None:
    openrouter.script({"content": "I am not sure what you want."}, {"content": GOOD})
    result = run(openrouter)
    assert result.stats.repairs == 1
    assert "- (answer): found no files" in last_user_text(openrouter.requests()[1])


def test_broken_references_and_missing_index_fail_clearly(openrouter: OpenRouter) -> None:
    broken = '<file path="page.html">\n<html><body><script src="gone.js"></script></body></html>\n</file>'
    openrouter.script({"content": broken}, {"content": broken}, {"content": broken})
    with pytest.raises(GenerationError) as caught:
        run(openrouter)
    assert {str(p) for p in caught.value.problems} == {
        'page.html: <script src="gone.js"> points to a file that is neither generated nor an attachment',
        "index.html: is missing; the site needs an index.html at its root",
    }
    assert caught.value.stats.completions == 3


def test_reserved_files_from_the_model_are_ignored(openrouter: OpenRouter) -> None:
    openrouter.script({"content": GOOD + '<file path="LICENSE">\nGPL\n</file>\n<file path="README.md">\nhi\n</file>'})
    result = run(openrouter)
    assert result.stats.ignored == ["LICENSE", "README.md"]
    assert result.site["LICENSE"].startswith(b"MIT License") and result.site["README.md"].startswith(b"# sum-of")


def test_round_two_edits_the_published_files(openrouter: OpenRouter) -> None:
    openrouter.script({"content": '<file path="app.js">\ndocument.title = "Sales v2";\n</file>'})
    previous = {"task": "sum-of-sales", "rounds": [{"round": 1, "brief": "Show the total.",
                                                    "checks": ["#total shows 10"],
                                                    "nonce": "n-1", "attachments": []}]}
    brief = make_brief(round=2, nonce="n-2", brief="Change the title.")
    published = {"index.html": PAGE.encode(), "app.js": APP.encode(), METADATA_PATH: json.dumps(previous).encode()}
    result = run(openrouter, brief, published=published)
    assert result.files == {"index.html": PAGE, "app.js": 'document.title = "Sales v2";\n'}
    assert [r["round"] for r in json.loads(result.site[METADATA_PATH])["rounds"]] == [1, 2]
    text = last_user_text(openrouter.requests()[0])
    assert f'<file path="index.html">\n{PAGE}\n</file>' in text
    assert "<earlier-checks>\n#total shows 10\n</earlier-checks>" in text


def test_rate_limit_then_fallback_model_are_counted(openrouter: OpenRouter) -> None:
    openrouter.script(
        {"model": "sandbox/a", "status": 429, "headers": {"Retry-After": "0"}},
        {"model": "sandbox/a", "content": "", "finish_reason": "stop"},
        {"model": "sandbox/b", "content": GOOD},
    )
    result = run(openrouter, None, "sandbox/a", "sandbox/b")
    assert (result.stats.model, result.stats.completions, result.stats.requests) == ("sandbox/b", 1, 3)
    assert [r["body"]["model"] for r in openrouter.requests()] == ["sandbox/a", "sandbox/a", "sandbox/b"]


def test_every_model_failing_is_an_llm_error(openrouter: OpenRouter) -> None:
    openrouter.script({"model": "sandbox/a", "status": 400, "message": "bad"},
                      {"model": "sandbox/b", "status": 200, "body": {"error": {"code": 503, "message": "down"}}})
    with pytest.raises(LLMError, match=r"sandbox/a: HTTP 400: bad.*sandbox/b: HTTP 200 carrying an error: down"):
        run(openrouter, None, "sandbox/a", "sandbox/b")


def test_the_stand_ins_own_app_passes_validation(openrouter: OpenRouter) -> None:
    brief = make_brief(
        brief='Publish a page titled "Sales Summary" that sums the sales column of sales.csv into #total-sales.',
        checks=["document.title === 'Sales Summary'", {"js": "!!document.querySelector('#total-sales')"}],
    )
    result = run(openrouter, brief, "openai/gpt-4o-mini")
    assert result.stats.repairs == 0 and "index.html" in result.files
    assert b"<title>Sales Summary</title>" in result.site["index.html"]


def test_a_token_like_task_name_is_caught_in_the_assembled_site(openrouter: OpenRouter) -> None:
    openrouter.script({"content": GOOD})
    with pytest.raises(GenerationError) as caught:
        run(openrouter, make_brief(task=TOKEN))
    assert {p.path for p in caught.value.problems} == {"README.md", METADATA_PATH}
    assert TOKEN not in str(caught.value)


def round_two(brief_text: str, app: str = APP) -> tuple[Brief, dict[str, bytes]]:
    previous = {"task": "sum-of-sales", "rounds": [{"round": 1, "brief": "Show the total.",
                                                    "checks": ["#total shows 10"],
                                                    "nonce": "n-1", "attachments": []}]}
    published = {"index.html": PAGE.encode(), "app.js": app.encode(), METADATA_PATH: json.dumps(previous).encode()}
    return make_brief(round=2, nonce="n-2", brief=brief_text), published


def test_a_weak_fallback_writes_whole_files_and_the_round_applies(openrouter: OpenRouter) -> None:
    openrouter.script(
        {"model": "sandbox/a", "status": 400, "message": "context too long"},
        {"model": "sandbox/b", "content": '<file path="app.js">\ndocument.title = "Sales v2";\n</file>'},
    )
    brief, published = round_two("Change the title.")
    result = run(openrouter, brief, "sandbox/a", "sandbox/b", published=published)
    assert result.files == {"index.html": PAGE, "app.js": 'document.title = "Sales v2";\n'}
    assert result.stats.model == "sandbox/b" and "HTTP 400" in result.stats.skipped["sandbox/a"]
    strong, weak = openrouter.requests()
    assert "SEARCH/REPLACE" in last_user_text(strong) and "SEARCH/REPLACE" not in last_user_text(weak)
    system = weak["body"]["messages"][0]["content"]
    assert "Files you do not send stay exactly as they are" in str(system) and "<<<<<<< SEARCH" not in str(system)


def test_a_file_edited_from_its_outline_is_sent_whole_in_the_repair(openrouter: OpenRouter) -> None:
    app = APP + "".join(f"function step{i}() {{\n  return {i};\n}}\n" for i in range(60))
    wrong = "app.js\n<<<<<<< SEARCH\n  return seven();\n=======\n  return 4 * 2;\n>>>>>>> REPLACE\n"  # a guess
    right = "app.js\n<<<<<<< SEARCH\nfunction step7() {\n  return 7;\n=======\nfunction step7() {\n  return 4 * 2;\n" \
            ">>>>>>> REPLACE\n"
    openrouter.script({"content": wrong}, {"content": right})
    brief, published = round_two("Make step seven return eight.", app)
    result = run(openrouter, brief, published=published)
    assert result.files["app.js"] == app.replace("step7() {\n  return 7;", "step7() {\n  return 4 * 2;")
    first, repair = openrouter.requests()
    assert '<outline path="app.js"' in last_user_text(first) and '<file path="app.js">' not in last_user_text(first)
    assert "app.js was shown as an outline" in last_user_text(repair)
    assert f'<file path="app.js">\n{app}\n</file>' in repair["body"]["messages"][1]["content"][-1]["text"]
