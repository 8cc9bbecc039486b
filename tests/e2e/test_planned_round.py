"""The round plan end to end (issue 20), through `deployer run` against the GitHub emulator and the stand-in, whose
built-in model plans while the generation answers are scripted: an attached script the brief asks to fix is
committed as the model fixed it (round 1 with whole files, round 2 with edit blocks), and an attachment the brief
keeps as-is is committed byte for byte even though the model wrote its own version. The plan is in the job summary
and in the generation prompt."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from tests.e2e.conftest import ActionRun, Deployer
from tests.e2e.test_action_run import clone, dispatch_event

QUICK = {"DEPLOYER_VERIFY": "0"}  # no checks to verify: the plan is what these tests are about
PAGE = "<!doctype html>\n<html><head><title>Totals</title></head>\n<body>\n<h1>Totals</h1>\n</body></html>\n"
BUGGY = "import csv\nrows = list(csv.reader(open('data.csv')))[2:]  # skips the first data row\nprint(len(rows))\n"
FIXED = "import csv\nrows = list(csv.reader(open('data.csv')))[1:]\nprint(len(rows))\n"
STATS_BUGGY = "def mean(xs):\n    return sum(xs) / (len(xs) + 1)\n"
STATS_FIXED = "def mean(xs):\n    return sum(xs) / len(xs)\n"
HELPER = "# keep me exactly as I am\nprint('hello')  \n"


def attachment(name: str, text: str, media: str = "text/x-python") -> dict[str, str]:
    return {"name": name, "url": f"data:{media};base64," + base64.b64encode(text.encode()).decode()}


def brief_dict(task: str, round_number: int, text: str, url: str, attachments: list[dict[str, str]]) -> dict[str, Any]:
    return {"email": "student@example.com", "secret": "s", "task": task, "round": round_number,
            "nonce": f"{task}-{round_number}", "brief": text, "checks": [], "evaluation_url": url,
            "attachments": attachments}


def files_answer(files: dict[str, str]) -> dict[str, str]:
    return {"content": "".join(f'<file path="{p}">\n{c}</file>\n' for p, c in files.items())}


def user_text(request: dict[str, Any]) -> str:
    return json.dumps(request["body"]["messages"][-1])


def run(deployer: Deployer, brief: dict[str, Any]) -> ActionRun:
    result = deployer.run("repository_dispatch", dispatch_event(brief), extra_env=QUICK, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_an_attached_script_the_brief_asks_to_fix_is_committed_fixed_in_rounds_1_and_2(
        deployer: Deployer, tmp_path: Path) -> None:
    text = ("Attached are execute.py and data.csv. execute.py has a bug: it skips the first data row. Commit "
            "execute.py after fixing it, and show on the page how many rows data.csv has.")
    first = brief_dict("fix-script", 1, text, deployer.evaluator.notify_url,
                       [attachment("execute.py", BUGGY), attachment("data.csv", "n\n1\n2\n", "text/csv")])
    deployer.openrouter.script(files_answer({"index.html": PAGE, "execute.py": FIXED}))
    result = run(deployer, first)

    repo = clone(f"{result.outputs['repo-url']}.git", tmp_path / "r1")
    assert (repo / "execute.py").read_text() == FIXED and (repo / "data.csv").read_text() == "n\n1\n2\n"
    [planning] = deployer.openrouter.planning_requests()
    assert "<round-attachments>" in user_text(planning)
    assert "**plan**: by the model sandbox/primary" in result.summary
    assert ('| execute.py | rewrite: "Commit execute.py after fixing it, and show on the page how many rows '
            'data.csv has." |') in result.summary
    assert "| data.csv | data |" in result.summary
    [generation] = deployer.openrouter.generation_requests()
    assert "- execute.py: write your corrected version under this name" in user_text(generation)
    assert "- data.csv: input the app reads; committed unchanged, do not write it" in user_text(generation)

    # Round 2 attaches another buggy script; the model fixes it with an edit block, as it edits its own files.
    second = brief_dict("fix-script", 2, "stats.py (attached) has a bug. Fix the bug in stats.py and commit it.",
                        deployer.evaluator.notify_url, [attachment("stats.py", STATS_BUGGY)])
    deployer.openrouter.script({"content": "stats.py\n<<<<<<< SEARCH\n    return sum(xs) / (len(xs) + 1)\n=======\n"
                                           "    return sum(xs) / len(xs)\n>>>>>>> REPLACE\n"})
    again = run(deployer, second)
    repo = clone(f"{again.outputs['repo-url']}.git", tmp_path / "r2")
    assert (repo / "stats.py").read_text() == STATS_FIXED and (repo / "execute.py").read_text() == FIXED
    assert len(deployer.openrouter.generation_requests()) == 2  # the edit applied at once
    assert '| stats.py | rewrite: "Fix the bug in stats.py and commit it." |' in again.summary
    assert "| touches | index.html, stats.py |" in again.summary


def test_an_attachment_kept_as_is_stays_byte_exact_though_the_model_rewrote_it(
        deployer: Deployer, tmp_path: Path) -> None:
    text = "Commit helper.py as-is and show its greeting on the page."
    brief = brief_dict("keep-helper", 1, text, deployer.evaluator.notify_url, [attachment("helper.py", HELPER)])
    rewritten = "# tidied up\nprint('hello')\n"
    deployer.openrouter.script(files_answer({"index.html": PAGE, "helper.py": rewritten}),
                               files_answer({"index.html": PAGE}))
    result = run(deployer, brief)

    repo = clone(f"{result.outputs['repo-url']}.git", tmp_path / "clone")
    assert (repo / "helper.py").read_bytes() == HELPER.encode()
    assert "| helper.py | keep |" in result.summary
    first, repair = deployer.openrouter.generation_requests()
    assert "- helper.py: committed byte for byte, as the brief asks; do not write it" in user_text(first)
    assert "helper.py: has the name of an attachment, which is committed as-is" in user_text(repair)
