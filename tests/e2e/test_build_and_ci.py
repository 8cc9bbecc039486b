"""Apps that need more than the model's text, end to end through the sandbox with scripted model answers:
a build script that fetches data.sec.gov (played by the fixtures, through the build proxy), fails, is repaired and
publishes data.json; and a CI workflow that runs ruff and python in the local runner on our commit and deploys
Pages, whose result.json is served but never committed, with the notification only after that run succeeded."""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import re
import sys
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
import requests

from tests.e2e.conftest import Deployer
from tests.e2e.test_action_run import clone, dispatch_event

CONCEPT = "/api/xbrl/companyconcept/CIK0000320193/dei/EntityCommonStockSharesOutstanding.json"
PAGE = """<!doctype html>
<html><head><title>Shares</title></head>
<body>
<h1>Shares outstanding</h1>
<p>Company: <span id="share-entity-name">?</span></p>
<p>Max: <span id="share-max-value">0</span> (<span id="share-max-fy">0</span>)</p>
<p>Min: <span id="share-min-value">0</span> (<span id="share-min-fy">0</span>)</p>
</body></html>
"""
BUILD = """# /// script
# [tool.deployer]
# outputs = ["data.json", "index.html"]
# commit_script = true
# ///
import json
import re
import urllib.request

URL = "https://data.sec.gov%s"
request = urllib.request.Request(URL, headers={"User-Agent": "Deployer Example admin@example.com"})
concept = json.load(urllib.request.urlopen(request, timeout=30))
facts = [f for f in concept["units"][%r] if isinstance(f.get("val"), (int, float)) and f["fy"] > 2020]
top = max(facts, key=lambda f: (f["val"], f["fy"]))
low = min(facts, key=lambda f: (f["val"], -f["fy"]))
data = {"entityName": concept["entityName"], "max": {"val": top["val"], "fy": top["fy"]},
        "min": {"val": low["val"], "fy": low["fy"]}}
json.dump(data, open("data.json", "w"), indent=2)
page = open("index.html").read()
values = {"share-entity-name": data["entityName"], "share-max-value": top["val"], "share-max-fy": top["fy"],
          "share-min-value": low["val"], "share-min-fy": low["fy"]}
for key, value in values.items():
    page = re.sub(r'(id="%%s">)[^<]*' %% key, lambda m: m.group(1) + str(value), page)
open("index.html", "w").write(page)
"""
# The runner machine has the dev tools of this environment (ruff) on PATH, as `uv run` gives them.
TOOLS_PATH = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"


def files_answer(files: dict[str, str]) -> dict[str, str]:
    return {"content": "".join(f'<file path="{p}">\n{c}</file>\n' for p, c in files.items())}


@pytest.fixture
def fixtures(services) -> dict[str, str]:  # type: ignore[no-untyped-def]
    svc = services.start("fixtures", "sandbox", "fixtures", "--port", "0", "--proxy-port", "0")
    info = requests.get(f"{svc.url}/_sandbox/info", timeout=10).json()
    return {"url": svc.url, **info["env"]}


def brief_dict(task: str, round_number: int, text: str, evaluation_url: str, attachments: list[dict[str, str]],
               checks: list[str] | None = None) -> dict[str, object]:
    return {"email": "student@example.com", "secret": "s", "task": task, "round": round_number,
            "nonce": f"{task}-{round_number}", "brief": text, "checks": checks or [], "evaluation_url": evaluation_url,
            "attachments": attachments}


def test_sec_build_fails_is_repaired_and_publishes_data_json_in_rounds_1_and_2(  # type: ignore[no-untyped-def]
        deployer: Deployer, fixtures, tmp_path: Path) -> None:
    env = {k: v for k, v in fixtures.items() if k.startswith("DEPLOYER_BUILD_")}
    uid = b"uid-7f3a\n"
    text = (f"Fetch https://data.sec.gov{CONCEPT} with a descriptive User-Agent, compute the max and min shares "
            "after 2020, save data.json and render index.html from it (ids share-entity-name, share-max-value, "
            "share-min-value). Commit uid.txt as-is.")
    brief = brief_dict("sec-shares", 1, text, deployer.evaluator.notify_url,
                       [{"name": "uid.txt", "url": "data:text/plain;base64," + base64.b64encode(uid).decode()}])
    broken = BUILD % (CONCEPT, "USD")  # the wrong unit: KeyError
    deployer.openrouter.script(files_answer({"index.html": PAGE, "build.py": broken}),
                               files_answer({"index.html": PAGE, "build.py": BUILD % (CONCEPT, "shares")}))
    result = deployer.run("repository_dispatch", dispatch_event(brief), extra_env=env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr

    asked = deployer.openrouter.generation_requests()
    assert len(asked) == 2
    repair = json.dumps(asked[1]["body"]["messages"][-1])
    assert "build.py: failed with exit status 1" in repair and "KeyError: 'USD'" in repair

    repo = clone(f"{result.outputs['repo-url']}.git", tmp_path / "r1")
    facts = requests.get(fixtures["url"] + CONCEPT, headers={"User-Agent": "Tests admin@example.com"},
                         timeout=10).json()["units"]["shares"]
    recent = [f["val"] for f in facts if f["fy"] > 2020]
    data = json.loads((repo / "data.json").read_text())
    assert data["entityName"] == "Apple Inc."
    assert data["max"]["val"] == max(recent) >= data["min"]["val"] == min(recent)
    page = (repo / "index.html").read_text()
    assert f'id="share-max-value">{max(recent)}<' in page and f'id="share-min-value">{min(recent)}<' in page
    assert (repo / "uid.txt").read_bytes() == uid and (repo / "build.py").exists()
    seen = requests.get(f"{fixtures['url']}/_sandbox/requests", timeout=10).json()
    assert seen[0]["user_agent"] == "Deployer Example admin@example.com" and seen[0]["status"] == 200
    served = requests.get(f"{result.outputs['pages-url']}data.json", timeout=10)
    assert served.status_code == 200 and served.json() == data
    assert [n["body"]["commit_sha"] for n in deployer.evaluator.notifications()] == [result.outputs["commit-sha"]]

    # Round 2: an edit to the page; the published build script runs again and keeps the figures right.
    second = brief_dict("sec-shares", 2, "Change the heading to 'Shares outstanding after 2020'.",
                        deployer.evaluator.notify_url, [])
    deployer.openrouter.script({"content": "index.html\n<<<<<<< SEARCH\n<h1>Shares outstanding</h1>\n=======\n"
                                           "<h1>Shares outstanding after 2020</h1>\n>>>>>>> REPLACE\n"})
    again = deployer.run("repository_dispatch", dispatch_event(second), extra_env=env, timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    repo2 = clone(f"{again.outputs['repo-url']}.git", tmp_path / "r2")
    page2 = (repo2 / "index.html").read_text()
    assert "<h1>Shares outstanding after 2020</h1>" in page2 and f'id="share-max-value">{max(recent)}<' in page2
    assert json.loads((repo2 / "data.json").read_text()) == data and (repo2 / "uid.txt").read_bytes() == uid


EXECUTE_BUGGY = "import csv\nimport json\n\nwith open('data.csv') as f:\n    rows = list(csv.DictReader(f))\n" \
                "print(json.dumps({'rows': len(rows), 'total': sum(int(r['units']) for r in rows[1:])}))\n"
EXECUTE_FIXED = EXECUTE_BUGGY.replace("rows[1:]", "rows")
CONVERT = """# /// script
# [tool.deployer]
# outputs = ["data.csv"]
# commit_script = false
# ///
import csv

import openpyxl

sheet = openpyxl.load_workbook("data.xlsx", data_only=True).active
with open("data.csv", "w", newline="") as f:
    writer = csv.writer(f)
    for row in sheet.iter_rows(values_only=True):
        writer.writerow(["" if v is None else v for v in row])
"""
CI = (Path(__file__).resolve().parents[1] / "fixtures" / "pages-ci.yml").read_text()


def xlsx() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in (["region", "units"], ["north", 12], ["south", 7], ["east", 5]):
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_ci_workflow_runs_on_our_commit_deploys_pages_and_result_json_is_not_committed(  # type: ignore[no-untyped-def]
        deployer: Deployer, services, tmp_path: Path) -> None:
    github = deployer.github
    actions = services.start("actions", "sandbox", "actions", "--github", github.url, "--data",
                             str(tmp_path / "actions"),
                             env={**os.environ, "GITHUB_TOKEN": github.token, "PATH": TOOLS_PATH})
    sheet = xlsx()
    media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    text = ("You are given execute.py (with a bug) and data.xlsx: fix the bug, convert data.xlsx to data.csv and "
            "commit it, add .github/workflows/ci.yml that runs ruff and `python execute.py > result.json` and "
            "publishes result.json on GitHub Pages; do not commit result.json.")
    brief = brief_dict("ci-result", 1, text, deployer.evaluator.notify_url, [
        {"name": "execute.py", "url": "data:text/x-python;base64," + base64.b64encode(EXECUTE_BUGGY.encode()).decode()},
        {"name": "data.xlsx", "url": f"data:{media};base64," + base64.b64encode(sheet).decode()},
    ])
    page = "<!doctype html>\n<html><head><title>Result</title></head>\n<body>\n<p>See result.json.</p>\n" \
           "</body></html>\n"
    # execute.py is an attachment the brief asks to fix: the model's version is committed under its name.
    deployer.openrouter.script(files_answer({"index.html": page, "build.py": CONVERT, "execute.py": EXECUTE_FIXED,
                                             ".github/workflows/ci.yml": CI}))
    result = deployer.run("repository_dispatch", dispatch_event(brief), timeout=400)
    ci_log = "\n".join(line for run in requests.get(f"{actions.url}/runs", timeout=10).json()
                       for line in requests.get(f"{actions.url}/runs/{run['number']}/log", timeout=10).json()["lines"])
    assert result.returncode == 0, result.stdout + result.stderr + ci_log[-4000:]
    sha = result.outputs["commit-sha"]

    repo = clone(f"{result.outputs['repo-url']}.git", tmp_path / "clone")
    assert not (repo / "result.json").exists() and not (repo / "build.py").exists()
    rows = list(csv.reader(io.StringIO((repo / "data.csv").read_text())))
    assert rows == [["region", "units"], ["north", "12"], ["south", "7"], ["east", "5"]]
    assert (repo / "data.xlsx").read_bytes() == sheet and (repo / "execute.py").read_text() == EXECUTE_FIXED
    auth = {"Authorization": f"token {github.token}"}
    runs = requests.get(f"{github.url}/repos/{github.user}/ci-result/actions/runs", params={"head_sha": sha},
                        headers=auth, timeout=10).json()["workflow_runs"]
    assert [(r["path"], r["status"], r["conclusion"], r["event"]) for r in runs] == [
        (".github/workflows/ci.yml", "completed", "success", "push")]
    served = requests.get(f"{result.outputs['pages-url']}result.json", timeout=10)
    assert served.status_code == 200 and served.json() == {"rows": 3, "total": 24}
    [note] = deployer.evaluator.notifications()
    finished = datetime.fromisoformat(runs[0]["updated_at"].replace("Z", "+00:00")).timestamp()
    assert note["body"]["commit_sha"] == sha and note["received_ts"] >= finished
    assert re.search(r"workflow \.github/workflows/ci\.yml on [0-9a-f]{12}: completed, success", result.stdout)

    # Round 2 edits the page; the workflow published in round 1 runs again on the new commit before notifying.
    second = brief_dict("ci-result", 2, "Add the heading 'Results' to the page.", deployer.evaluator.notify_url, [])
    deployer.openrouter.script({"content": "index.html\n<<<<<<< SEARCH\n<p>See result.json.</p>\n=======\n"
                                           "<h1>Results</h1>\n<p>See result.json.</p>\n>>>>>>> REPLACE\n"})
    again = deployer.run("repository_dispatch", dispatch_event(second), timeout=400)
    assert again.returncode == 0, again.stdout + again.stderr
    assert len(deployer.openrouter.generation_requests()) == 2  # the edit applied at once
    sha2 = again.outputs["commit-sha"]
    runs2 = requests.get(f"{github.url}/repos/{github.user}/ci-result/actions/runs", params={"head_sha": sha2},
                         headers=auth, timeout=10).json()["workflow_runs"]
    assert [(r["status"], r["conclusion"]) for r in runs2] == [("completed", "success")]
    assert "<h1>Results</h1>" in requests.get(result.outputs["pages-url"], timeout=10).text
    repo2 = clone(f"{again.outputs['repo-url']}.git", tmp_path / "clone2")
    assert not (repo2 / "result.json").exists() and (repo2 / ".github/workflows/ci.yml").read_text() == CI
