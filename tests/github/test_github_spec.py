"""The spec checker itself: it must flag answers GitHub's description does not allow (else the suite-wide
`spec-violations` assertion would prove nothing)."""

from __future__ import annotations

import json

import pytest

from sandbox.github.spec import BackgroundChecker, Operation, Spec

JSON = {"Content-Type": "application/json; charset=utf-8"}
REF = {"ref": "refs/heads/main", "node_id": "n", "url": "http://x/r",
       "object": {"type": "commit", "sha": "a" * 40, "url": "http://x/c"}}


@pytest.fixture(scope="module")
def spec() -> Spec:
    return Spec()


def op(spec: Spec, method: str, template: str) -> Operation:
    found = spec.operation(method, template)
    assert found is not None
    return found


def test_a_valid_answer_passes(spec: Spec) -> None:
    assert spec.check(op(spec, "GET", "/repos/{owner}/{repo}/git/ref/{ref}"), 200, JSON, json.dumps(REF).encode()) == []


def test_wrong_shapes_statuses_and_headers_are_flagged(spec: Spec) -> None:
    get_ref = op(spec, "GET", "/repos/{owner}/{repo}/git/ref/{ref}")
    short = dict(REF, object=dict(REF["object"], sha="abc"))
    assert spec.check(get_ref, 200, JSON, json.dumps(short).encode())  # sha must be 40 characters
    assert spec.check(get_ref, 200, JSON, json.dumps({"ref": 1}).encode())
    assert spec.check(get_ref, 200, JSON, b"not json")
    assert spec.check(get_ref, 418, JSON, b"{}") == ["status 418 is not listed for git/get-ref"]
    create_ref = op(spec, "POST", "/repos/{owner}/{repo}/git/refs")
    assert spec.check(create_ref, 201, JSON, json.dumps(REF).encode()) == ["header Location missing"]
    dispatch = op(spec, "POST", "/repos/{owner}/{repo}/dispatches")
    assert spec.check(dispatch, 204, {}, b"{}") == ["status 204 must have no body"]
    assert spec.check(dispatch, 204, {}, b"") == []
    not_found = spec.check(get_ref, 404, JSON, json.dumps({"message": 5}).encode())
    assert not_found and "404 body" in not_found[0]


def test_nullable_and_overlapping_branches_read_as_github_answers(spec: Spec) -> None:
    page = {"url": "http://x/p", "status": None, "cname": None, "custom_404": False, "public": True,
            "protected_domain_state": None}
    assert spec.check(op(spec, "GET", "/repos/{owner}/{repo}/pages"), 200, JSON, json.dumps(page).encode()) == []
    bad = dict(page, status="done")
    assert spec.check(op(spec, "GET", "/repos/{owner}/{repo}/pages"), 200, JSON, json.dumps(bad).encode())


def test_background_checker_collects_violations(spec: Spec) -> None:
    checker = BackgroundChecker(spec)
    get_ref = op(spec, "GET", "/repos/{owner}/{repo}/git/ref/{ref}")
    checker.submit(get_ref, 200, JSON, json.dumps(REF).encode(), "/repos/o/r/git/ref/heads/main")
    checker.submit(get_ref, 200, JSON, b"{}", "/repos/o/r/git/ref/heads/x")
    checker.drain()
    assert [v["path"] for v in checker.violations] == ["/repos/o/r/git/ref/heads/x"]
    assert checker.violations[0]["route"] == "GET /repos/{owner}/{repo}/git/ref/{ref}"
