"""GitHub as it is (issue 14): each behaviour of the emulator's realistic mode, seen through real sockets, and the
switch that turns it off (`PATCH /_sandbox/settings`). Delays are test-sized (tests.conftest.REALISTIC)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import requests

from sandbox.github.consistency import lag_seconds
from sandbox.github.routes_git import TREE_TOO_LARGE
from sandbox.github.settings import SETTINGS, Settings
from sandbox.procs import deployer_argv
from tests.conftest import REALISTIC, GitHub, Services, start_github
from tests.github.helpers import artifact, call, make_repo, put_file, wait_for_build, wait_until

CREATE_TREE_DOCS = "https://docs.github.com/rest/git/trees#create-a-tree"


def switch(gh: GitHub, **settings: object) -> None:
    answer = gh.sandbox("PATCH", "settings", json=settings)
    assert answer.status_code == 200, answer.text


def head_of(gh: GitHub, full_name: str) -> str:
    return call(gh, "GET", f"/repos/{full_name}/git/ref/heads/main").json()["object"]["sha"]


def tree_of(gh: GitHub, full_name: str, commit: str) -> str:
    return call(gh, "GET", f"/repos/{full_name}/git/commits/{commit}").json()["tree"]["sha"]


# Row 1: creation lag ---------------------------------------------------------------------------------------------

def test_a_new_repository_reads_as_missing_for_its_creation_lag(real: GitHub) -> None:
    switch(real, creation_lag=4)  # at least 2 s: time for every call below, even on a busy machine
    make_repo(real, "lagging")
    repo = "/repos/sandbox/lagging"
    assert call(real, "GET", repo).status_code == 404
    commit = call(real, "GET", f"{repo}/commits/main")
    assert (commit.status_code, commit.json()["message"]) == (422, "No commit found for SHA: main")
    for path in (f"{repo}/git/ref/heads/main", f"{repo}/commits"):
        empty = call(real, "GET", path)
        assert (empty.status_code, empty.json()["message"]) == (409, "Git Repository is empty."), path
    contents = call(real, "GET", f"{repo}/contents/README.md")
    assert (contents.status_code, contents.json()["message"]) == (404, "This repository is empty.")
    assert call(real, "POST", f"{repo}/git/blobs", json={"content": "x"}).status_code == 409
    began = time.monotonic()
    real.settle("sandbox/lagging")
    assert time.monotonic() - began <= 4.5
    assert call(real, "GET", f"{repo}/git/ref/heads/main").status_code == 200
    assert call(real, "GET", f"{repo}/contents/README.md").status_code == 200
    # Switched off: a repository reads at once.
    switch(real, creation_lag=0)
    make_repo(real, "at-once")
    assert call(real, "GET", "/repos/sandbox/at-once/commits/main").status_code == 200


def test_the_lag_is_fixed_by_the_seed_and_the_name() -> None:
    lags = {name: lag_seconds(2.0, 7, name) for name in ("o/a", "o/b", "o/c")}
    assert all(1.0 <= lag <= 2.0 for lag in lags.values())
    assert len(set(lags.values())) == 3
    assert lag_seconds(2.0, 7, "O/A") == lags["o/a"]  # names are case-insensitive
    assert lag_seconds(2.0, 8, "o/a") != lags["o/a"]
    assert lag_seconds(0, 7, "o/a") == 0


# Row 2: inline-tree size cap -------------------------------------------------------------------------------------

def test_a_tree_too_large_for_one_request_is_refused_every_time(real: GitHub) -> None:
    make_repo(real, "big")
    real.settle("sandbox/big")
    base = tree_of(real, "sandbox/big", head_of(real, "sandbox/big"))
    body = {"base_tree": base, "tree": [{"path": f"f{i}.txt", "mode": "100644", "type": "blob",
                                         "content": "x" * 700_000} for i in range(4)]}  # 2.8 MB, over 2.5 MB
    for _ in range(2):  # retrying the same body does not help
        refused = call(real, "POST", "/repos/sandbox/big/git/trees", json=body)
        assert refused.status_code == 422
        assert refused.json()["message"] == TREE_TOO_LARGE
        assert refused.json()["documentation_url"] == CREATE_TREE_DOCS
    assert TREE_TOO_LARGE.startswith("Sorry, your request timed out.  It's likely that your input was too large")
    small = {"base_tree": base, "tree": body["tree"][:3]}  # 2.1 MB
    assert call(real, "POST", "/repos/sandbox/big/git/trees", json=small).status_code == 201
    switch(real, tree_size_limit=0)
    assert call(real, "POST", "/repos/sandbox/big/git/trees", json=body).status_code == 201


# Row 3: the workflow scope ---------------------------------------------------------------------------------------

def test_a_token_without_the_workflow_scope_gets_a_bare_404(tmp_path: Path) -> None:
    services = Services(tmp_path / "logs")
    gh = start_github(services, tmp_path / "gh", "--scopes", "repo", world=REALISTIC)
    try:
        make_repo(gh, "noscope")
        gh.settle("sandbox/noscope")
        base = tree_of(gh, "sandbox/noscope", head_of(gh, "sandbox/noscope"))
        workflow = {"path": ".github/workflows/ci.yml", "mode": "100644", "type": "blob", "content": "on: push\n"}
        refused = call(gh, "POST", "/repos/sandbox/noscope/git/trees", json={"base_tree": base, "tree": [workflow]})
        assert refused.status_code == 404
        assert refused.json() == {"message": "Not Found", "documentation_url": CREATE_TREE_DOCS, "status": "404"}
        put = call(gh, "PUT", "/repos/sandbox/noscope/contents/.github/workflows/ci.yml",
                   json={"message": "wf", "content": "b246IHB1c2gK"})
        assert (put.status_code, put.json()["message"]) == (404, "Not Found")
        page = {"path": "index.html", "mode": "100644", "type": "blob", "content": "ok"}
        assert call(gh, "POST", "/repos/sandbox/noscope/git/trees", json={"base_tree": base, "tree": [page]}) \
            .status_code == 201
        switch(gh, scope_errors_as_404=False)
        named = call(gh, "POST", "/repos/sandbox/noscope/git/trees", json={"base_tree": base, "tree": [workflow]})
        assert named.status_code == 403 and "without `workflow` scope" in named.json()["message"]
        assert gh.sandbox("GET", "spec-violations").json() == []
    finally:
        assert services.stop_all() == {"github": 0}


def test_commits_and_ref_updates_that_change_workflows_are_404_without_the_permission(real: GitHub) -> None:
    make_repo(real, "wfperm")
    real.settle("sandbox/wfperm")
    head = head_of(real, "sandbox/wfperm")
    base = tree_of(real, "sandbox/wfperm", head)
    workflow = {"path": ".github/workflows/ci.yml", "mode": "100644", "type": "blob", "content": "on: push\n"}
    tree = call(real, "POST", "/repos/sandbox/wfperm/git/trees", json={"base_tree": base, "tree": [workflow]}).json()
    commit = call(real, "POST", "/repos/sandbox/wfperm/git/commits",
                  json={"message": "wf", "tree": tree["sha"], "parents": [head]}).json()
    # A workflow's GITHUB_TOKEN never has the workflows permission: each call answers GitHub's bare 404.
    job = real.sandbox("POST", "job-tokens", json={"owner": "sandbox", "repo": "wfperm"}).json()["token"]
    again = call(real, "POST", "/repos/sandbox/wfperm/git/commits", job,
                 json={"message": "wf", "tree": tree["sha"], "parents": [head]})
    assert (again.status_code, again.json()["message"]) == (404, "Not Found")
    moved = call(real, "PATCH", "/repos/sandbox/wfperm/git/refs/heads/main", job, json={"sha": commit["sha"]})
    assert (moved.status_code, moved.json()["message"]) == (404, "Not Found")
    created = call(real, "POST", "/repos/sandbox/wfperm/git/refs", job,
                   json={"ref": "refs/heads/wf", "sha": commit["sha"]})
    assert created.status_code == 404
    assert head_of(real, "sandbox/wfperm") == head
    switch(real, scope_errors_as_404=False)
    named = call(real, "PATCH", "/repos/sandbox/wfperm/git/refs/heads/main", job, json={"sha": commit["sha"]})
    assert named.status_code == 403 and "without `workflows` permission" in named.json()["message"]


# Row 4: PUT /pages queues no build -------------------------------------------------------------------------------

def test_a_source_change_queues_no_build_until_one_is_requested(real: GitHub) -> None:
    make_repo(real, "repoint")
    real.settle("sandbox/repoint")
    first = put_file(real, "repoint", "index.html", b"main branch")
    site = call(real, "POST", "/repos/sandbox/repoint/pages", json={"source": {"branch": "main"}}).json()
    wait_for_build(real, "sandbox/repoint", first)
    other = call(real, "POST", "/repos/sandbox/repoint/git/commits", json={
        "message": "gh-pages", "parents": [], "tree": call(real, "POST", "/repos/sandbox/repoint/git/trees", json={
            "tree": [{"path": "index.html", "mode": "100644", "type": "blob", "content": "gh-pages branch"}]},
        ).json()["sha"]}).json()["sha"]
    assert call(real, "POST", "/repos/sandbox/repoint/git/refs",
                json={"ref": "refs/heads/gh-pages", "sha": other}).status_code == 201
    put = call(real, "PUT", "/repos/sandbox/repoint/pages", json={"source": {"branch": "gh-pages", "path": "/"}})
    assert put.status_code == 204
    assert call(real, "GET", "/repos/sandbox/repoint/pages").json()["source"]["branch"] == "gh-pages"
    time.sleep(1.5)  # five build delays: no build comes
    latest = call(real, "GET", "/repos/sandbox/repoint/pages/builds/latest").json()
    assert (latest["commit"], latest["status"]) == (first, "built")
    assert requests.get(f"{site['html_url']}?v=1", timeout=10).content == b"main branch"  # the stale site answers
    assert call(real, "POST", "/repos/sandbox/repoint/pages/builds").status_code == 201
    wait_for_build(real, "sandbox/repoint", other)
    assert requests.get(f"{site['html_url']}?v=2", timeout=10).content == b"gh-pages branch"
    switch(real, put_pages_queues_no_build=False)
    call(real, "PUT", "/repos/sandbox/repoint/pages", json={"source": {"branch": "main", "path": "/"}})
    assert wait_for_build(real, "sandbox/repoint", first)["status"] == "built"


# Row 5: the CDN --------------------------------------------------------------------------------------------------

def test_the_cdn_keeps_each_answer_per_url_for_its_max_age(real: GitHub) -> None:
    make_repo(real, "cached")
    real.settle("sandbox/cached")
    switch(real, cdn_max_age=5)  # long enough to build the site before the cached 404 expires
    url = real.site("cached")
    early = requests.get(f"{url}?poll=1", timeout=10)  # before Pages is on: GitHub's 404, now cached
    assert (early.status_code, early.headers["X-Cache"], early.headers["Cache-Control"]) == (404, "MISS",
                                                                                             "max-age=5")
    head = put_file(real, "cached", "index.html", b"live")
    call(real, "POST", "/repos/sandbox/cached/pages", json={"source": {"branch": "main"}})
    wait_for_build(real, "sandbox/cached", head)
    stale = requests.get(f"{url}?poll=1", timeout=10)
    assert (stale.status_code, stale.headers["X-Cache"], stale.headers["X-Cache-Hits"]) == (404, "HIT", "1")
    assert int(stale.headers["Age"]) <= 5 and stale.headers["Via"] == "1.1 varnish"
    fresh = requests.get(f"{url}?poll=2", timeout=10)  # another query string reaches the host
    assert (fresh.status_code, fresh.content, fresh.headers["X-Cache"]) == (200, b"live", "MISS")
    assert requests.get(f"{url}?poll=2", timeout=10).headers["X-Cache"] == "HIT"
    wait_until(lambda: requests.get(f"{url}?poll=1", timeout=10).status_code == 200, deadline_s=15,
               what="the cached 404 to expire")
    switch(real, cdn_max_age=0)
    put_file(real, "cached", "index.html", b"newer")
    wait_until(lambda: call(real, "GET", "/repos/sandbox/cached/pages/builds/latest").json()["status"] == "built"
               and requests.get(f"{url}?poll=3", timeout=10).content == b"newer", what="the new page")
    uncached = requests.get(f"{url}?poll=3", timeout=10)
    assert (uncached.headers["X-Cache"], uncached.headers["Cache-Control"]) == ("MISS", "max-age=0")


# Row 6: Pages deployments ----------------------------------------------------------------------------------------

def test_a_deployment_publishes_its_artifact_and_is_not_a_build(real: GitHub) -> None:
    make_repo(real, "deployed")
    real.settle("sandbox/deployed")
    head = head_of(real, "sandbox/deployed")
    site = call(real, "POST", "/repos/sandbox/deployed/pages", json={"build_type": "workflow"}).json()
    uploaded = real.sandbox("POST", "artifacts", json={"owner": "sandbox", "repo": "deployed",
                                                       "data": artifact({"index.html": b"from the artifact"})}).json()
    created = call(real, "POST", "/repos/sandbox/deployed/pages/deployments",
                   json={"artifact_id": uploaded["id"], "pages_build_version": head, "oidc_token": "a.b.c"})
    assert created.status_code == 200
    status_url = created.json()["status_url"]
    assert status_url.endswith(f"/pages/deployments/{head}")
    wait_until(lambda: requests.get(status_url, headers={"Authorization": f"token {real.token}"},
                                    timeout=10).json()["status"] == "succeed", what="the deployment")
    assert requests.get(f"{site['html_url']}?d=1", timeout=10).content == b"from the artifact"
    assert call(real, "GET", "/repos/sandbox/deployed/pages/builds").json() == []
    assert call(real, "GET", "/repos/sandbox/deployed/pages/builds/latest").status_code == 404
    assert call(real, "GET", "/repos/sandbox/deployed/pages").json()["status"] == "built"


# Row 7: Jekyll ---------------------------------------------------------------------------------------------------

README = b"""# Sales summary

Totals are computed from `data.csv` with [the script](docs/how.md).

```js
const total = rows.reduce((a, r) => a + r.sales, 0);
```
"""


def test_a_branch_site_goes_through_jekyll_and_a_liquid_error_fails_the_build(real: GitHub) -> None:
    make_repo(real, "jekyll")
    real.settle("sandbox/jekyll")
    put_file(real, "jekyll", "README.md", README)
    put_file(real, "jekyll", "docs/how.md",
             b"---\ntitle: How\n---\nTitle: {{ page.title }}. {% raw %}{{ x }}{% endraw %}\n")
    put_file(real, "jekyll", "_drafts/x.html", b"hidden")
    head = put_file(real, "jekyll", "notes/README.md", b"Notes *index*\n")
    site = call(real, "POST", "/repos/sandbox/jekyll/pages", json={"source": {"branch": "main"}}).json()["html_url"]
    assert wait_for_build(real, "sandbox/jekyll", head)["status"] == "built"
    index = requests.get(f"{site}?j=1", timeout=10)  # README.md is the index (jekyll-readme-index)
    assert index.status_code == 200 and index.headers["Content-Type"].startswith("text/html")
    assert '<h1 id="sales-summary">Sales summary</h1>' in index.text and "<title>Sales summary</title>" in index.text
    assert '<a href="docs/how.html">the script</a>' in index.text
    assert "rows.reduce((a, r) =&gt; a + r.sales, 0);" in index.text
    assert requests.get(f"{site}README.md?j=1", timeout=10).status_code == 404  # no Markdown is served
    how = requests.get(f"{site}docs/how.html?j=1", timeout=10).text
    assert "<p>Title: How. {{ x }}</p>" in how
    assert "<em>index</em>" in requests.get(f"{site}notes/?j=1", timeout=10).text
    assert requests.get(f"{site}_drafts/x.html?j=1", timeout=10).status_code == 404
    broken = put_file(real, "jekyll", "README.md", b"# Checks\n\nThe page shows {{ total in the heading.\n")
    failed = wait_for_build(real, "sandbox/jekyll", broken)
    assert failed["status"] == "errored"
    assert failed["error"]["message"] == ("Liquid syntax error (line 3): Variable '{{' was not properly terminated "
                                          "with regexp: /\\}\\}/ in README.md")
    assert "Sales summary" in requests.get(f"{site}?j=2", timeout=10).text  # the last good build stays
    bypass = put_file(real, "jekyll", ".nojekyll", b"")
    assert wait_for_build(real, "sandbox/jekyll", bypass)["status"] == "built"
    assert requests.get(f"{site}README.md?j=3", timeout=10).content.startswith(b"# Checks")
    switch(real, jekyll=False)  # the ideal world: Markdown is served as it is, only `_`/`.` paths are left out
    make_repo(real, "plain")
    real.settle("sandbox/plain")
    put_file(real, "plain", "_hidden.txt", b"x")
    unknown = put_file(real, "plain", "README.md", b"{% weird %}\n")
    call(real, "POST", "/repos/sandbox/plain/pages", json={"source": {"branch": "main"}})
    assert wait_for_build(real, "sandbox/plain", unknown)["status"] == "built"
    assert requests.get(f"{real.site('plain')}README.md?j=4", timeout=10).content == b"{% weird %}\n"
    assert requests.get(f"{real.site('plain')}_hidden.txt?j=4", timeout=10).status_code == 404


# Row 8: secondary limits -----------------------------------------------------------------------------------------

def test_the_hourly_content_limit_answers_403_without_retry_after_and_close_writes_are_listed(real: GitHub) -> None:
    other = real.other_token
    real.sandbox("DELETE", "pacing")
    switch(real, content_per_hour=3, content_per_minute=80)
    for i in range(3):
        assert call(real, "POST", "/user/repos", other, json={"name": f"burst-{i}"}).status_code == 201
    limited = call(real, "POST", "/user/repos", other, json={"name": "burst-3"})
    assert limited.status_code == 403
    assert limited.json()["message"] == ("You have exceeded a secondary rate limit and have been temporarily blocked "
                                         "from content creation. Please retry your request again later.")
    assert "retry-after" not in limited.headers and int(limited.headers["x-ratelimit-remaining"]) > 0
    close = [p for p in real.sandbox("GET", "pacing").json() if p["user"] == "other"]
    assert len(close) >= 2 and all(p["gap_s"] < 1 and p["method"] == "POST" for p in close)
    switch(real, secondary_without_retry_after=False)
    assert int(call(real, "POST", "/user/repos", other, json={"name": "burst-4"}).headers["retry-after"]) > 60
    switch(real, content_per_hour=0)
    assert call(real, "POST", "/user/repos", other, json={"name": "burst-5"}).status_code == 201


# Row 9: a job token's push ---------------------------------------------------------------------------------------

def test_a_push_with_a_job_token_starts_no_pages_build_and_no_run(real: GitHub) -> None:
    make_repo(real, "botpush")
    real.settle("sandbox/botpush")
    first = put_file(real, "botpush", "index.html", b"v1")
    call(real, "POST", "/repos/sandbox/botpush/pages", json={"source": {"branch": "main"}})
    wait_for_build(real, "sandbox/botpush", first)
    job = real.sandbox("POST", "job-tokens", json={"owner": "sandbox", "repo": "botpush"}).json()["token"]
    pushed = put_file(real, "botpush", "index.html", b"v2", token=job)
    time.sleep(1.5)  # five build delays: no build comes
    assert [b["commit"] for b in call(real, "GET", "/repos/sandbox/botpush/pages/builds").json()] == [first]
    record = real.sandbox("GET", "pushes").json()[-1]
    assert (record["after"], record["sender"], record["starts_workflows"]) == (pushed, "github-actions[bot]", False)
    # The token writes its own repository only, cannot enable Pages, and ends with its job.
    make_repo(real, "elsewhere")
    real.settle("sandbox/elsewhere")
    assert call(real, "PUT", "/repos/sandbox/elsewhere/contents/x.txt", job,
                json={"message": "x", "content": "eA=="}).status_code == 404
    assert call(real, "POST", "/repos/sandbox/elsewhere/pages", job,
                json={"build_type": "workflow"}).status_code == 404
    assert call(real, "POST", "/repos/sandbox/botpush/pages", job, json={"build_type": "workflow"}).status_code == 403
    assert call(real, "POST", "/user/repos", job, json={"name": "by-bot"}).status_code == 403
    assert real.sandbox("DELETE", "job-tokens", json={"token": job}).status_code == 204
    assert call(real, "GET", "/user", job).status_code == 401
    switch(real, job_token_pushes_are_silent=False)
    job = real.sandbox("POST", "job-tokens", json={"owner": "sandbox", "repo": "botpush"}).json()["token"]
    third = put_file(real, "botpush", "index.html", b"v3", token=job)
    assert wait_for_build(real, "sandbox/botpush", third)["status"] == "built"
    assert real.sandbox("GET", "pushes").json()[-1]["starts_workflows"] is True


# Switches --------------------------------------------------------------------------------------------------------

def test_settings_are_read_and_switched_at_run_time_with_clear_errors(real: GitHub) -> None:
    settings = real.sandbox("GET", "settings").json()
    assert settings["creation_lag"] == 1 and settings["cdn_max_age"] == 2  # tests.conftest.REALISTIC
    assert settings["jekyll"] is True and settings["tree_size_limit"] == 2_500_000
    assert settings["content_per_hour"] == 500 and settings["mutation_interval"] == 1
    unknown = real.sandbox("PATCH", "settings", json={"jekyl": False})
    assert unknown.status_code == 400 and "unknown setting 'jekyl'" in unknown.json()["error"]
    wrong = real.sandbox("PATCH", "settings", json={"jekyll": "no"})
    assert wrong.status_code == 400 and "jekyll must be true or false" in wrong.json()["error"]
    negative = real.sandbox("PATCH", "settings", json={"cdn_max_age": -1})
    assert negative.status_code == 400
    assert real.sandbox("GET", "settings").json() == settings  # nothing half-applied
    assert real.sandbox("PATCH", "settings", json={"jekyll": False}).json()["jekyll"] is False


def test_the_command_line_documents_each_switch_and_ideal_turns_them_all_off(tmp_path: Path) -> None:
    shown = subprocess.run(deployer_argv("sandbox", "github", "--help"), capture_output=True, text=True, timeout=60,
                           env={**os.environ, "COLUMNS": "200"})
    assert shown.returncode == 0
    for setting in SETTINGS:
        assert setting.flag in shown.stdout, setting.flag
    assert "--ideal" in shown.stdout and "--no-jekyll" in shown.stdout
    assert "qoomon/actions--create-commit#90" in shown.stdout  # each switch names its source
    services = Services(tmp_path / "logs")
    gh = start_github(services, tmp_path / "gh", "--jekyll", "--cdn-max-age", "7", world=("--ideal",))
    try:
        settings = gh.sandbox("GET", "settings").json()
        assert settings == {**Settings().ideal().as_dict(), "jekyll": True, "cdn_max_age": 7}
        assert settings["creation_lag"] == 0 and settings["content_per_hour"] == 0
        assert settings["content_per_minute"] == 80  # a limit the ideal world has too
    finally:
        assert services.stop_all() == {"github": 0}
    wrong = subprocess.run(deployer_argv("sandbox", "github", "--cdn-max-age", "-1"), capture_output=True,
                           text=True, timeout=60)
    assert wrong.returncode == 2 and "cdn_max_age must be a non-negative number" in wrong.stderr


def test_every_setting_is_described_once_and_documented_in_the_readme() -> None:
    described = [s.name for s in SETTINGS]
    assert sorted(described) == sorted(Settings().as_dict()) and len(set(described)) == len(described)
    readme = (Path(__file__).resolve().parents[2] / "sandbox" / "github" / "README.md").read_text()
    for setting in SETTINGS:
        assert f"| `{setting.name}` (`{setting.flag}`) |" in readme, setting.name
