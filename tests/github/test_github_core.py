"""The emulator's basics through real sockets: auth, users, repositories, dispatches, rate limits, /_sandbox/."""

from __future__ import annotations

import json

import requests

from sandbox.github.spec import Spec
from tests.conftest import GitHub
from tests.github.helpers import call, make_repo


def test_authentication_and_user(gh: GitHub) -> None:
    missing = call(gh, "GET", "/user", token="")
    assert missing.status_code == 401
    assert missing.json()["message"] == "Requires authentication"
    wrong = call(gh, "GET", "/user", token="nope")
    assert wrong.status_code == 401
    assert wrong.json()["message"] == "Bad credentials"
    assert wrong.json()["documentation_url"].startswith("https://docs.github.com/")
    bearer = requests.get(f"{gh.url}/user", headers={"Authorization": "Bearer other-token"}, timeout=10)
    assert bearer.json()["login"] == "other"
    me = call(gh, "GET", "/user")
    assert me.status_code == 200
    assert me.headers["X-OAuth-Scopes"] == "repo, workflow"
    assert me.json()["login"] == "sandbox"


def test_create_repository_with_initial_commit(gh: GitHub) -> None:
    repo = make_repo(gh, "my site!", description="A demo")
    assert repo["name"] == "my-site-"  # GitHub replaces characters outside [A-Za-z0-9._-] with '-'
    assert repo["full_name"] == "sandbox/my-site-"
    assert repo["clone_url"] == f"{gh.server_url}/sandbox/my-site-.git"
    assert repo["html_url"] == f"{gh.server_url}/sandbox/my-site-"
    assert repo["default_branch"] == "main"
    got = call(gh, "GET", "/repos/sandbox/MY-SITE-")  # names are case-insensitive
    assert got.status_code == 200
    assert got.json()["id"] == repo["id"]
    commits = call(gh, "GET", "/repos/sandbox/my-site-/commits").json()
    assert [c["commit"]["message"] for c in commits] == ["Initial commit"]
    readme = call(gh, "GET", "/repos/sandbox/my-site-/contents/README.md").json()
    assert readme["encoding"] == "base64"


def test_repository_name_rules(gh: GitHub) -> None:
    make_repo(gh, "taken")
    again = call(gh, "POST", "/user/repos", json={"name": "Taken"})
    assert again.status_code == 422
    body = again.json()
    assert body["message"] == "Repository creation failed."
    assert body["errors"][0]["message"] == "name already exists on this account"
    too_long = call(gh, "POST", "/user/repos", json={"name": "x" * 101})
    assert too_long.status_code == 422
    missing = call(gh, "POST", "/user/repos", json={"private": True})
    assert missing.status_code == 422
    wrong_type = call(gh, "POST", "/user/repos", json={"name": 5})
    assert wrong_type.status_code == 422
    malformed = call(gh, "POST", "/user/repos", data=b"{not json")
    assert malformed.status_code == 400
    assert malformed.json()["message"] == "Problems parsing JSON"


def test_update_and_delete_repository(gh: GitHub) -> None:
    make_repo(gh, "old")
    patched = call(gh, "PATCH", "/repos/sandbox/old", json={"description": "d", "homepage": None, "name": "new"})
    assert patched.status_code == 200
    assert patched.json()["full_name"] == "sandbox/new"
    assert call(gh, "GET", "/repos/sandbox/old").status_code == 404
    assert call(gh, "GET", "/repos/sandbox/new").json()["description"] == "d"
    head = call(gh, "GET", "/repos/sandbox/new/git/ref/heads/main").json()["object"]["sha"]
    call(gh, "POST", "/repos/sandbox/new/git/refs", json={"ref": "refs/heads/dev", "sha": head})
    assert call(gh, "PATCH", "/repos/sandbox/new", json={"default_branch": "dev"}).json()["default_branch"] == "dev"
    assert call(gh, "PATCH", "/repos/sandbox/new", json={"default_branch": "nope"}).status_code == 422
    assert call(gh, "PATCH", "/repos/sandbox/new", json={"private": "yes"}).status_code == 422
    assert call(gh, "DELETE", "/repos/sandbox/new").status_code == 204
    gone = call(gh, "GET", "/repos/sandbox/new")
    assert gone.status_code == 404
    assert gone.json()["message"] == "Not Found"


def test_repository_dispatch_validation(gh: GitHub) -> None:
    make_repo(gh, "target")
    path = "/repos/sandbox/target/dispatches"
    ok = call(gh, "POST", path, json={"event_type": "deploy-brief", "client_payload": {"id": 1}})
    assert ok.status_code == 204
    assert ok.content == b""
    eleven = {f"k{i}": i for i in range(11)}
    assert call(gh, "POST", path, json={"event_type": "e", "client_payload": eleven}).status_code == 422
    too_many = call(gh, "POST", path, json={"event_type": "e", "client_payload": eleven})
    assert "No more than 10 properties are allowed; 11 were supplied" in too_many.json()["message"]
    big = {"brief": "x" * (64 * 1024)}
    too_big = call(gh, "POST", path, json={"event_type": "e", "client_payload": big})
    assert too_big.status_code == 422
    assert too_big.json()["message"] == "client_payload is too large."
    just_under = {"brief": "x" * (64 * 1024 - 20)}
    assert call(gh, "POST", path, json={"event_type": "e", "client_payload": just_under}).status_code == 204
    assert call(gh, "POST", path, json={"event_type": "e" * 101}).status_code == 422
    assert call(gh, "POST", path, json={"event_type": ""}).status_code == 422
    assert call(gh, "POST", path, json={"client_payload": {}}).status_code == 422
    assert call(gh, "POST", path, json={"event_type": "e", "client_payload": [1]}).status_code == 422
    assert call(gh, "POST", "/repos/sandbox/nope/dispatches", json={"event_type": "e"}).status_code == 404
    records = [d for d in gh.sandbox("GET", "dispatches").json() if d["repo"] == "target"]
    assert len(records) == 2
    assert records[0]["kind"] == "repository_dispatch"
    assert records[0]["event_type"] == "deploy-brief"
    assert records[0]["client_payload"] == {"id": 1}
    assert records[0]["sender"] == "sandbox"


def test_rate_limit_headers_and_endpoint(gh: GitHub) -> None:
    first = call(gh, "GET", "/user")
    second = call(gh, "GET", "/user")
    for key in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "x-ratelimit-used"):
        assert key in first.headers
    assert first.headers["x-ratelimit-resource"] == "core"
    assert int(second.headers["x-ratelimit-used"]) == int(first.headers["x-ratelimit-used"]) + 1
    limits = call(gh, "GET", "/rate_limit")
    again = call(gh, "GET", "/rate_limit")
    assert limits.json()["rate"]["used"] == again.json()["rate"]["used"]  # not counted
    assert limits.json()["resources"]["core"]["limit"] == 5000


def test_requests_log_and_info(gh: GitHub) -> None:
    info = gh.sandbox("GET", "info").json()
    assert {u["login"] for u in info["users"]} == {"sandbox", "other"}
    assert info["api_url"] == gh.url
    gh.sandbox("DELETE", "requests")
    make_repo(gh, "logged")
    call(gh, "GET", "/repos/sandbox/logged", token="bad")
    log = gh.sandbox("GET", "requests").json()
    assert [(r["route"], r["status"], r["user"]) for r in log] == [
        ("POST /user/repos", 201, "sandbox"), ("GET /repos/{owner}/{repo}", 401, None),
    ]


def test_faults_reach_the_client(gh: GitHub) -> None:
    make_repo(gh, "f")
    armed = gh.sandbox("POST", "faults", json={"route": "GET /repos/{owner}/{repo}", "status": 502, "count": 2})
    assert armed.status_code == 201
    assert len(gh.sandbox("GET", "faults").json()) == 1
    assert call(gh, "GET", "/repos/sandbox/f").status_code == 502
    assert call(gh, "GET", "/repos/sandbox/f").status_code == 502
    assert call(gh, "GET", "/repos/sandbox/f").status_code == 200
    gh.sandbox("POST", "faults", json={"path": "/user", "status": 429, "headers": {"Retry-After": "1"}})
    limited = call(gh, "GET", "/user")
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "1"
    assert limited.headers["x-ratelimit-limit"] == "5000"  # the caller's budget, as on any answer
    assert "secondary rate limit" in limited.json()["message"]
    gh.sandbox("POST", "faults", json={"route": "GET /user", "status": 403})
    forbidden = call(gh, "GET", "/user")
    assert forbidden.status_code == 403
    assert "secondary rate limit" in forbidden.json()["message"]
    gh.sandbox("POST", "faults", json={"route": "GET /user", "status": 500, "body": {"message": "boom"}})
    assert call(gh, "GET", "/user").json() == {"message": "boom"}
    gh.sandbox("POST", "faults", json={"route": "GET /user", "delay": 0.2})
    assert call(gh, "GET", "/user").status_code == 200
    gh.sandbox("POST", "faults", json={"route": "GET /user", "status": 500, "count": 5})
    assert gh.sandbox("DELETE", "faults").status_code == 204
    assert call(gh, "GET", "/user").status_code == 200
    bad = gh.sandbox("POST", "faults", json={"route": "GET /user"})
    assert bad.status_code == 400
    assert "status" in bad.json()["error"]


def test_bad_bodies_never_cause_a_server_error(gh: GitHub) -> None:
    make_repo(gh, "fuzz")
    bodies = [b"", b"null", b"[]", b"123", b'"s"', b"{", b'{"name": null}', b'{"tree": "x"}', b'{"tree": [1]}',
              b'{"tree": [{"path": "/a", "mode": "100644", "content": "x"}]}', b'{"sha": 5, "force": "yes"}',
              b'{"content": "***", "encoding": "base64", "message": "m"}', b"\xff\xfe",
              json.dumps({"a": [{}]}).encode(), b'{"message": "m", "content": "eA==", "branch": "a..b"}',
              b'{"ref": "refs/heads/main/x", "sha": "' + b"0" * 40 + b'"}', b'{"source": {"branch": 1}}']
    paths = [("POST", "/user/repos"), ("PATCH", "/repos/sandbox/fuzz"), ("POST", "/repos/sandbox/fuzz/git/blobs"),
             ("POST", "/repos/sandbox/fuzz/git/trees"), ("POST", "/repos/sandbox/fuzz/git/commits"),
             ("POST", "/repos/sandbox/fuzz/git/refs"), ("PATCH", "/repos/sandbox/fuzz/git/refs/heads/main"),
             ("PUT", "/repos/sandbox/fuzz/contents/a.txt"), ("POST", "/repos/sandbox/fuzz/pages"),
             ("PUT", "/repos/sandbox/fuzz/pages"), ("POST", "/repos/sandbox/fuzz/dispatches"),
             ("POST", "/repos/sandbox/fuzz/actions/workflows/deploy.yml/dispatches")]
    for method, path in paths:
        for body in bodies:
            r = call(gh, method, path, data=body)
            assert r.status_code < 500, (method, path, body, r.status_code, r.text)
            assert r.status_code != 403, r.text  # answered by the handler, not by a limit
            if r.status_code >= 400:
                assert "message" in r.json()
    assert call(gh, "GET", "/no/such/route/here").status_code == 404
    assert call(gh, "DELETE", "/user").status_code == 404
    unknown = call(gh, "GET", "/user/repos")  # a REST path the emulator lacks: JSON, not the web side
    assert unknown.status_code == 404
    assert unknown.json()["message"] == "Not Found"
    page = requests.get(f"{gh.url}/sandbox/fuzz", timeout=10)  # the repository's html_url
    assert page.status_code == 200
    assert "sandbox/fuzz" in page.text


WRONG_VALUES = [None, 0, "", "x" * 300, True, [1], {"a": {}}]
PATH_VALUES = {"owner": "sandbox", "repo": "typed", "org": "sandbox", "ref": "heads/main", "path": "a/b.txt",
               "file_sha": "0" * 40, "tree_sha": "main", "commit_sha": "0" * 40, "build_id": "1",
               "workflow_id": "deploy.yml", "sha": "0" * 40, "pages_deployment_id": "0" * 40, "run_id": "1",
               "check_run_id": "1"}


def test_every_body_field_with_a_wrong_value_is_a_client_error(gh: GitHub) -> None:
    """Each property of each request body GitHub describes, given values of the wrong type or size: GitHub's
    4xx, never a 5xx."""
    make_repo(gh, "typed")
    spec = Spec()
    sent = 0
    for (method, template), _op in spec.operations.items():
        raw = spec.doc["paths"][template][method.lower()].get("requestBody")
        if raw is None:
            continue
        schema = spec.resolve(raw)["content"]["application/json"].get("schema", {})
        props = {k: v for branch in [schema, *schema.get("anyOf", []), *schema.get("oneOf", [])]
                 for k, v in branch.get("properties", {}).items()}
        path = template.format(**PATH_VALUES)
        if method == "DELETE" and path.count("/") == 3:
            continue  # deleting the repository would end the loop early
        for name in props:
            for value in WRONG_VALUES:
                r = call(gh, method, path, json={name: value})
                sent += 1
                assert r.status_code < 500, (method, path, name, value, r.status_code, r.text)
                assert r.status_code != 403, r.text  # answered by the handler, not by a limit
    assert sent > 200
