"""Git Data, Contents and Commits APIs: GitHub's answers for the cases the deployer meets, through real sockets."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

from tests.conftest import GitHub
from tests.github.helpers import call, make_repo


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def head(gh: GitHub, repo: str) -> str:
    return call(gh, "GET", f"/repos/sandbox/{repo}/git/ref/heads/main").json()["object"]["sha"]


def commit_files(gh: GitHub, repo: str, files: dict[str, str | None], parent: str | None = None) -> str:
    """Tree (on the parent's tree) + commit; returns the new commit SHA without moving the branch."""
    parent = parent or head(gh, repo)
    base_tree = call(gh, "GET", f"/repos/sandbox/{repo}/git/commits/{parent}").json()["tree"]["sha"]
    entries = [{"path": p, "mode": "100644", "type": "blob", **({"content": c} if c is not None else {"sha": None})}
               for p, c in files.items()]
    tree = call(gh, "POST", f"/repos/sandbox/{repo}/git/trees", json={"base_tree": base_tree, "tree": entries})
    assert tree.status_code == 201, tree.text
    made = call(gh, "POST", f"/repos/sandbox/{repo}/git/commits",
                json={"message": "change", "tree": tree.json()["sha"], "parents": [parent]})
    assert made.status_code == 201, made.text
    return made.json()["sha"]


def test_empty_repository_refuses_git_data_until_a_first_file(gh: GitHub) -> None:
    r = call(gh, "POST", "/user/repos", json={"name": "empty"})
    assert r.status_code == 201
    assert r.headers["Location"] == r.json()["url"]
    for method, path, body in [
        ("POST", "git/blobs", {"content": "x"}), ("POST", "git/refs", {"ref": "refs/heads/main", "sha": "a" * 40}),
        ("POST", "git/trees", {"tree": []}), ("GET", "git/ref/heads/main", None), ("GET", "commits", None),
    ]:
        answer = call(gh, method, f"/repos/sandbox/empty/{path}", json=body)
        assert answer.status_code == 409, (path, answer.text)
        assert answer.json()["message"] == "Git Repository is empty."
    contents = call(gh, "GET", "/repos/sandbox/empty/contents/README.md")
    assert contents.status_code == 404
    assert contents.json()["message"] == "This repository is empty."
    first = call(gh, "PUT", "/repos/sandbox/empty/contents/index.html",
                 json={"message": "first", "content": b64(b"<h1>hi</h1>")})
    assert first.status_code == 201
    assert first.json()["commit"]["parents"] == []
    assert call(gh, "POST", "/repos/sandbox/empty/git/blobs", json={"content": "x"}).status_code == 201


def test_contents_create_update_and_conflicts(gh: GitHub) -> None:
    make_repo(gh, "contents")
    path = "/repos/sandbox/contents/contents/docs/a.txt"
    created = call(gh, "PUT", path, json={"message": "add", "content": b64(b"one\n")})
    assert created.status_code == 201
    sha = created.json()["content"]["sha"]
    git_sha = subprocess.run(["git", "hash-object", "--stdin"], input=b"one\n", capture_output=True, check=True)
    assert sha == git_sha.stdout.decode().strip()
    no_sha = call(gh, "PUT", path, json={"message": "again", "content": b64(b"two\n")})
    assert no_sha.status_code == 422
    assert "sha" in no_sha.json()["message"]
    stale = call(gh, "PUT", path, json={"message": "again", "content": b64(b"two\n"), "sha": "0" * 40})
    assert stale.status_code == 409
    updated = call(gh, "PUT", path, json={"message": "update", "content": b64(b"two\n"), "sha": sha})
    assert updated.status_code == 200
    got = call(gh, "GET", path).json()
    assert base64.b64decode(got["content"]) == b"two\n"
    assert got["type"] == "file"
    assert got["sha"] == updated.json()["content"]["sha"]
    listing = call(gh, "GET", "/repos/sandbox/contents/contents/docs").json()
    assert [(e["name"], e["type"]) for e in listing] == [("a.txt", "file")]
    root = call(gh, "GET", "/repos/sandbox/contents/contents/").json()
    assert {e["name"]: e["type"] for e in root} == {"README.md": "file", "docs": "dir"}
    old = call(gh, "GET", path, params={"ref": created.json()["commit"]["sha"]}).json()
    assert base64.b64decode(old["content"]) == b"one\n"
    raw = call(gh, "GET", path, headers={"Accept": "application/vnd.github.raw+json"})
    assert raw.content == b"two\n"
    assert raw.headers["Content-Type"] == "application/vnd.github.raw"
    assert call(gh, "GET", "/repos/sandbox/contents/contents/nope.txt").status_code == 404
    assert call(gh, "PUT", path, json={"message": "m", "content": "%%%"}).status_code == 422
    assert call(gh, "PUT", path, json={"content": b64(b"x")}).status_code == 422
    other = call(gh, "PUT", path, json={"message": "m", "content": b64(b"x"), "branch": "nope"})
    assert other.status_code == 404
    accented = "/repos/sandbox/contents/contents/docs/é ü.txt"
    made = call(gh, "PUT", accented, json={"message": "unicode", "content": b64("ü\n".encode())})
    assert made.status_code == 201
    assert made.json()["content"]["path"] == "docs/é ü.txt"
    assert base64.b64decode(call(gh, "GET", accented).json()["content"]) == "ü\n".encode()


def test_refs_create_update_fast_forward(gh: GitHub) -> None:
    make_repo(gh, "refs")
    base = head(gh, "refs")
    for bad in ("heads/feature", "refs/feature", "refs/heads/bad..name"):
        answer = call(gh, "POST", "/repos/sandbox/refs/git/refs", json={"ref": bad, "sha": base})
        assert answer.status_code == 422, bad
    unknown = call(gh, "POST", "/repos/sandbox/refs/git/refs", json={"ref": "refs/heads/x", "sha": "1" * 40})
    assert unknown.status_code == 422
    made = call(gh, "POST", "/repos/sandbox/refs/git/refs", json={"ref": "refs/heads/feature", "sha": base})
    assert made.status_code == 201
    assert made.headers["Location"].endswith("/repos/sandbox/refs/git/refs/heads/feature")
    assert made.json()["object"] == {"sha": base, "type": "commit", "url": made.json()["object"]["url"]}
    dup = call(gh, "POST", "/repos/sandbox/refs/git/refs", json={"ref": "refs/heads/feature", "sha": base})
    assert dup.status_code == 422
    assert dup.json()["message"] == "Reference already exists"
    clash = call(gh, "POST", "/repos/sandbox/refs/git/refs", json={"ref": "refs/heads/feature/sub", "sha": base})
    assert clash.status_code == 422
    assert clash.json()["message"] == "Reference update failed"
    assert call(gh, "GET", "/repos/sandbox/refs/git/ref/heads/missing").status_code == 404

    ahead = commit_files(gh, "refs", {"a.txt": "a"})
    sideways = commit_files(gh, "refs", {"b.txt": "b"}, parent=base)
    moved = call(gh, "PATCH", "/repos/sandbox/refs/git/refs/heads/main", json={"sha": ahead})
    assert moved.status_code == 200
    assert moved.json()["object"]["sha"] == ahead
    refused = call(gh, "PATCH", "/repos/sandbox/refs/git/refs/heads/main", json={"sha": sideways})
    assert refused.status_code == 422
    assert refused.json()["message"] == "Update is not a fast forward"
    assert head(gh, "refs") == ahead
    forced = call(gh, "PATCH", "/repos/sandbox/refs/git/refs/heads/main", json={"sha": sideways, "force": True})
    assert forced.status_code == 200
    assert head(gh, "refs") == sideways
    missing = call(gh, "PATCH", "/repos/sandbox/refs/git/refs/heads/nope", json={"sha": ahead})
    assert missing.status_code == 422


def test_trees_commits_and_blobs(gh: GitHub) -> None:
    make_repo(gh, "trees")
    base = head(gh, "trees")
    base_tree = call(gh, "GET", f"/repos/sandbox/trees/git/commits/{base}").json()["tree"]["sha"]
    blob = call(gh, "POST", "/repos/sandbox/trees/git/blobs",
                json={"content": b64(b"\x00\x01bin"), "encoding": "base64"})
    assert blob.status_code == 201
    assert blob.headers["Location"] == blob.json()["url"]
    tree = call(gh, "POST", "/repos/sandbox/trees/git/trees", json={"base_tree": base_tree, "tree": [
        {"path": "a/b/c.txt", "mode": "100644", "type": "blob", "content": "deep\n"},
        {"path": "bin/x.dat", "mode": "100644", "type": "blob", "sha": blob.json()["sha"]},
        {"path": "README.md", "mode": "100644", "type": "blob", "sha": None},
        {"path": "données/é ü.txt", "mode": "100644", "type": "blob", "content": "ünïcode\n"},
    ]})
    assert tree.status_code == 201
    top = {e["path"]: e["type"] for e in tree.json()["tree"]}
    assert top == {"a": "tree", "bin": "tree", "données": "tree"}
    full = call(gh, "GET", f"/repos/sandbox/trees/git/trees/{tree.json()['sha']}", params={"recursive": "1"}).json()
    assert {e["path"] for e in full["tree"]} == {"a", "a/b", "a/b/c.txt", "bin", "bin/x.dat", "données",
                                                 "données/é ü.txt"}
    got = call(gh, "GET", f"/repos/sandbox/trees/git/blobs/{blob.json()['sha']}").json()
    assert base64.b64decode(got["content"]) == b"\x00\x01bin"
    assert got["size"] == 5

    author = {"name": "Ada", "email": "ada@example.com", "date": "2024-05-01T10:00:00Z"}
    made = call(gh, "POST", "/repos/sandbox/trees/git/commits", json={
        "message": "msg\n\nDeployer-Round: 1\n", "tree": tree.json()["sha"], "parents": [base], "author": author})
    assert made.status_code == 201
    assert made.json()["author"] == author
    assert made.json()["parents"][0]["sha"] == base
    assert made.json()["message"] == "msg\n\nDeployer-Round: 1\n"
    tree_sha = tree.json()["sha"]
    for body in ({"message": "m", "tree": "f" * 40}, {"message": "m", "tree": tree_sha, "parents": ["e" * 40]},
                 {"tree": tree_sha}):
        assert call(gh, "POST", "/repos/sandbox/trees/git/commits", json=body).status_code == 422
    for entry in ({"path": "../x", "mode": "100644", "type": "blob", "content": "x"},
                  {"path": "x", "mode": "100600", "type": "blob", "content": "x"},
                  {"path": "x", "mode": "100644", "type": "blob", "sha": "d" * 40}):
        assert call(gh, "POST", "/repos/sandbox/trees/git/trees", json={"tree": [entry]}).status_code == 422
    bad_base = call(gh, "POST", "/repos/sandbox/trees/git/trees", json={"base_tree": "c" * 40, "tree": []})
    assert bad_base.status_code == 422
    commit_as_base = call(gh, "POST", "/repos/sandbox/trees/git/trees", json={"base_tree": base, "tree": []})
    assert commit_as_base.status_code == 422  # GitHub wants the tree's SHA, not the commit's
    assert call(gh, "GET", "/repos/sandbox/trees/git/commits/main").status_code == 404  # no commit-ish here
    assert call(gh, "GET", f"/repos/sandbox/trees/git/commits/{'a' * 40}").status_code == 404
    assert call(gh, "GET", f"/repos/sandbox/trees/git/blobs/{'a' * 40}").status_code == 404


def test_commits_list_filters_and_single_commit(gh: GitHub, tmp_path: Path) -> None:
    make_repo(gh, "history")
    first = head(gh, "history")
    shas = [first]
    for i in range(3):
        sha = commit_files(gh, "history", {f"f{i}.txt" if i != 2 else "f0.txt": str(i)})
        assert call(gh, "PATCH", "/repos/sandbox/history/git/refs/heads/main", json={"sha": sha}).status_code == 200
        shas.append(sha)
    listed = call(gh, "GET", "/repos/sandbox/history/commits").json()
    assert [c["sha"] for c in listed] == shas[::-1]
    page = call(gh, "GET", "/repos/sandbox/history/commits", params={"per_page": 2})
    assert [c["sha"] for c in page.json()] == shas[:1:-1]
    assert 'rel="next"' in page.headers["Link"]
    touching = call(gh, "GET", "/repos/sandbox/history/commits", params={"path": "f0.txt"}).json()
    assert [c["sha"] for c in touching] == [shas[3], shas[1]]
    older = call(gh, "GET", "/repos/sandbox/history/commits", params={"sha": shas[1]}).json()
    assert [c["sha"] for c in older] == [shas[1], shas[0]]
    one = call(gh, "GET", "/repos/sandbox/history/commits/main").json()
    assert one["sha"] == shas[3]
    assert one["author"]["login"] == "sandbox"
    assert one["commit"]["comment_count"] == 0
    plain = call(gh, "GET", f"/repos/sandbox/history/commits/{shas[2]}",
                 headers={"Accept": "application/vnd.github.sha"})
    assert plain.text == shas[2]
    assert call(gh, "GET", "/repos/sandbox/history/commits/no-such-ref").status_code == 422
    dest = tmp_path / "c"
    subprocess.run(["git", "clone", "-q", f"{gh.server_url}/sandbox/history.git", str(dest)], check=True)
    log = subprocess.run(["git", "-C", str(dest), "log", "--format=%H"], capture_output=True, text=True, check=True)
    assert log.stdout.split() == shas[::-1]
