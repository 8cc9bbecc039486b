"""Pages API and host: enable/update/disable, builds on every push, errored builds, what the host serves."""

from __future__ import annotations

import base64
from pathlib import Path

import requests

from sandbox.github import pages
from tests.conftest import GitHub, Services, start_github
from tests.github.helpers import artifact, call, make_repo, put_file, wait_for_build


def test_pages_api_lifecycle(gh: GitHub) -> None:
    make_repo(gh, "pg")
    pages = "/repos/sandbox/pg/pages"
    assert call(gh, "GET", pages).status_code == 404
    assert call(gh, "POST", pages, json={}).status_code == 422
    missing = call(gh, "POST", pages, json={"source": {"branch": "gh-pages"}})
    assert missing.status_code == 422
    bad_path = call(gh, "POST", pages, json={"source": {"branch": "main", "path": "/site"}})
    assert bad_path.status_code == 422
    enabled = call(gh, "POST", pages, json={"source": {"branch": "main", "path": "/"}})
    assert enabled.status_code == 201
    page = enabled.json()
    assert page["html_url"] == gh.site("pg")
    assert page["build_type"] == "legacy"
    assert page["status"] in ("building", "built")
    again = call(gh, "POST", pages, json={"source": {"branch": "main"}})
    assert again.status_code == 409
    assert call(gh, "GET", "/repos/sandbox/pg").json()["has_pages"] is True
    head = call(gh, "GET", "/repos/sandbox/pg/git/ref/heads/main").json()["object"]["sha"]
    first = wait_for_build(gh, "sandbox/pg", head)
    assert first["status"] == "built"
    assert first["pusher"]["login"] == "sandbox"
    requested = call(gh, "POST", f"{pages}/builds")
    assert requested.status_code == 201
    assert requested.json()["status"] == "queued"
    builds = call(gh, "GET", f"{pages}/builds").json()
    assert len(builds) == 2
    build_id = builds[-1]["url"].rsplit("/", 1)[1]
    assert call(gh, "GET", f"{pages}/builds/{build_id}").json()["commit"] == head
    assert call(gh, "GET", f"{pages}/builds/999").status_code == 404
    assert call(gh, "PUT", pages, json={"source": {"branch": "main", "path": "/docs"}}).status_code == 204
    assert call(gh, "GET", pages).json()["source"] == {"branch": "main", "path": "/docs"}
    assert call(gh, "PUT", pages, json={}).status_code == 400
    assert call(gh, "DELETE", pages).status_code == 204
    assert call(gh, "GET", pages).status_code == 404
    assert call(gh, "DELETE", pages).status_code == 404


def test_every_push_builds_and_the_host_serves_the_built_commit(gh: GitHub) -> None:
    make_repo(gh, "live")
    put_file(gh, "live", "index.html", b"<h1>v1</h1>")
    enabled = call(gh, "POST", "/repos/sandbox/live/pages", json={"source": {"branch": "main"}}).json()
    url = enabled["html_url"]
    v1 = call(gh, "GET", "/repos/sandbox/live/commits/main").json()["sha"]
    wait_for_build(gh, "sandbox/live", v1)
    assert requests.get(url, timeout=10).content == b"<h1>v1</h1>"
    v2 = put_file(gh, "live", "index.html", b"<h1>v2</h1>")
    put_file(gh, "live", "docs/guide/index.html", b"guide")
    v3 = call(gh, "GET", "/repos/sandbox/live/commits/main").json()["sha"]
    assert wait_for_build(gh, "sandbox/live", v3)["status"] == "built"
    assert {b["commit"] for b in call(gh, "GET", "/repos/sandbox/live/pages/builds").json()} >= {v1, v2, v3}
    assert requests.get(url, timeout=10).content == b"<h1>v2</h1>"
    assert requests.get(f"{url}index.html", timeout=10).content == b"<h1>v2</h1>"
    assert requests.get(f"{url}docs/guide/", timeout=10).content == b"guide"
    bare = requests.get(gh.site("live").rstrip("/"), timeout=10, allow_redirects=False)
    assert bare.status_code == 301
    assert bare.headers["Location"] == "/live/"  # a project site lives at /<repo>/ of its owner's host
    folder = requests.get(f"{url}docs/guide", timeout=10, allow_redirects=False)
    assert folder.status_code == 301
    assert requests.get(f"{url}missing.js", timeout=10).status_code == 404
    put_file(gh, "live", "404.html", b"custom 404")
    put_file(gh, "live", "app.js", b"console.log(1)")
    v5 = call(gh, "GET", "/repos/sandbox/live/commits/main").json()["sha"]
    wait_for_build(gh, "sandbox/live", v5)
    custom = requests.get(f"{url}missing.js", timeout=10)
    assert (custom.status_code, custom.content) == (404, b"custom 404")
    js = requests.get(f"{url}app.js", timeout=10)
    assert js.headers["Content-Type"].startswith("application/javascript")
    put_file(gh, "live", "_app/main.js", b"hidden by Jekyll")
    v6 = call(gh, "GET", "/repos/sandbox/live/commits/main").json()["sha"]
    wait_for_build(gh, "sandbox/live", v6)
    assert requests.get(f"{url}_app/main.js", timeout=10).status_code == 404
    put_file(gh, "live", ".nojekyll", b"")
    v7 = call(gh, "GET", "/repos/sandbox/live/commits/main").json()["sha"]
    wait_for_build(gh, "sandbox/live", v7)
    assert requests.get(f"{url}_app/main.js", timeout=10).content == b"hidden by Jekyll"
    assert requests.get(gh.site("nope"), timeout=10).status_code == 404


def test_armed_pages_fault_errors_the_build(gh: GitHub) -> None:
    make_repo(gh, "broken")
    put_file(gh, "broken", "index.html", b"ok")
    call(gh, "POST", "/repos/sandbox/broken/pages", json={"build_type": "legacy",
                                                           "source": {"branch": "main", "path": "/"}})
    head = call(gh, "GET", "/repos/sandbox/broken/commits/main").json()["sha"]
    wait_for_build(gh, "sandbox/broken", head)
    armed = gh.sandbox("POST", "pages/faults", json={"owner": "sandbox", "repo": "broken", "count": 1})
    assert armed.status_code == 201
    new = put_file(gh, "broken", "index.html", b"new")
    failed = wait_for_build(gh, "sandbox/broken", new)
    assert failed["status"] == "errored"
    assert failed["error"]["message"]
    assert call(gh, "GET", "/repos/sandbox/broken/pages").json()["status"] == "errored"
    assert requests.get(gh.site("broken"), timeout=10).content == b"ok"  # last good build
    call(gh, "POST", "/repos/sandbox/broken/pages/builds")
    assert wait_for_build(gh, "sandbox/broken", new)["status"] == "built"
    assert requests.get(gh.site("broken"), timeout=10).content == b"new"
    assert gh.sandbox("POST", "pages/faults", json={"owner": "sandbox", "repo": "nope"}).status_code == 404


def test_nothing_is_served_before_the_first_build(tmp_path: Path) -> None:
    services = Services(tmp_path / "logs")
    slow = start_github(services, tmp_path / "gh", build_delay=60)
    try:
        make_repo(slow, "slow")
        put_file(slow, "slow", "index.html", b"<p>later</p>")
        page = call(slow, "POST", "/repos/sandbox/slow/pages", json={"source": {"branch": "main"}}).json()
        assert page["status"] == "building"
        assert call(slow, "GET", "/repos/sandbox/slow/pages/builds/latest").json()["status"] == "building"
        assert requests.get(page["html_url"], timeout=10).status_code == 404
        assert slow.sandbox("GET", "spec-violations").json() == []
    finally:
        assert services.stop_all() == {"github": 0}


def test_workflow_site_is_published_by_a_pages_deployment(gh: GitHub) -> None:
    make_repo(gh, "wfsite")
    sha = put_file(gh, "wfsite", "index.html", b"from git")
    page = call(gh, "POST", "/repos/sandbox/wfsite/pages", json={"build_type": "workflow"})
    assert page.status_code == 201
    assert page.json()["build_type"] == "workflow"
    assert page.json()["status"] is None  # no build until the workflow deploys
    put_file(gh, "wfsite", "other.txt", b"a push does not build a workflow site")
    assert call(gh, "GET", "/repos/sandbox/wfsite/pages/builds").json() == []
    uploaded = gh.sandbox("POST", "artifacts", json={"owner": "sandbox", "repo": "wfsite", "name": "github-pages",
                                                     "data": artifact({"index.html": b"built by a workflow"})})
    assert uploaded.status_code == 201
    body = {"artifact_id": uploaded.json()["id"], "pages_build_version": sha, "oidc_token": "x.y.z"}
    deployed = call(gh, "POST", "/repos/sandbox/wfsite/pages/deployments", json=body)
    assert deployed.status_code == 200, deployed.text
    assert deployed.json()["id"] == sha and deployed.json()["page_url"] == page.json()["html_url"]
    status = requests.get(deployed.json()["status_url"], headers={"Authorization": f"token {gh.token}"}, timeout=10)
    assert status.json()["status"] in (*pages.DEPLOYMENT_STEPS, "succeed")
    # In the ideal world a deployment also shows as a build of its commit.
    assert wait_for_build(gh, "sandbox/wfsite", sha)["status"] == "built"
    assert call(gh, "GET", f"/repos/sandbox/wfsite/pages/deployments/{sha}").json() == {"status": "succeed"}
    assert requests.get(page.json()["html_url"], timeout=10).content == b"built by a workflow"
    assert call(gh, "GET", "/repos/sandbox/wfsite/pages").json()["status"] == "built"
    missing = call(gh, "POST", "/repos/sandbox/wfsite/pages/deployments", json={**body, "artifact_id": 1})
    assert missing.status_code == 404
    no_token = call(gh, "POST", "/repos/sandbox/wfsite/pages/deployments",
                    json={"artifact_id": body["artifact_id"], "pages_build_version": sha})
    assert no_token.status_code == 422 and "oidc_token" in no_token.json()["message"]
    assert call(gh, "GET", "/repos/sandbox/wfsite/pages/deployments/nope").status_code == 404


def test_each_owner_has_its_own_host_with_its_user_site_at_the_root(gh: GitHub) -> None:
    host, other_host = gh.pages_hosts["sandbox"], gh.pages_hosts["other"]
    assert host != other_host
    builds = []
    for owner, token, repo, files in [
        ("sandbox", gh.token, "sandbox.github.io", {"index.html": b"user site", "proj/index.html": b"user folder",
                                                   "folder/index.html": b"user folder only"}),
        ("sandbox", gh.token, "proj", {"index.html": b"project site"}),
        ("sandbox", gh.token, "other.github.io", {"index.html": b"a project named like other's user site"}),
        ("other", gh.other_token, "proj", {"index.html": b"other's project"}),
    ]:
        make_repo(gh, repo, token)
        for path, data in files.items():
            head = call(gh, "PUT", f"/repos/{owner}/{repo}/contents/{path}", token, json={
                "message": path, "content": base64.b64encode(data).decode()}).json()["commit"]["sha"]
        site = call(gh, "POST", f"/repos/{owner}/{repo}/pages", token, json={"source": {"branch": "main"}}).json()
        builds.append((f"{owner}/{repo}", head, site["html_url"]))
    for full_name, head, _ in builds:
        wait_for_build(gh, full_name, head)
    assert [url for _, _, url in builds] == [f"{host}/", f"{host}/proj/", f"{host}/other.github.io/",
                                            f"{other_host}/proj/"]
    assert requests.get(f"{host}/", timeout=10).content == b"user site"
    assert requests.get(f"{host}/proj/", timeout=10).content == b"project site"  # a project site wins
    assert requests.get(f"{host}/folder/", timeout=10).content == b"user folder only"
    assert requests.get(f"{host}/other.github.io/", timeout=10).content.startswith(b"a project named")
    assert requests.get(f"{other_host}/proj/", timeout=10).content == b"other's project"
    assert requests.get(f"{other_host}/", timeout=10).status_code == 404  # other has no user site
    assert "There isn't a GitHub Pages site here." in requests.get(f"{other_host}/nothing/", timeout=10).text
