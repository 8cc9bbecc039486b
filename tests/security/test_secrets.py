"""Secrets never leak, in the places tests/e2e/test_sandbox.py's full scan does not reach: the receiver's answers
(status, health, errors), the action's failure log and job summary, and what an LLM writes (token-like strings,
paths outside the site), searched for in every git object of the created repository.

Constant time: the receiver compares secrets with hmac.compare_digest on bytes (receiver/app.py `_secret_ok`,
`_operator`). A timing measurement would be a speed claim, which belongs to bench/; what is tested here is the
behaviour that a timing leak would need: every wrong secret (short, long, a prefix of the real one, one character
off, not ASCII, not a string) gets the very same answer, and none of them is a 500.
"""

from __future__ import annotations

import json
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from sandbox.procs import Service
from tests.e2e.conftest import ActionRun, Deployer
from tests.e2e.test_sandbox import git_objects
from tests.faults.conftest import FAST, dispatch_event, fresh, repository
from tests.receiver.receiver_support import SECRET, closed_port_url, make_brief, start_receiver

GITHUB_TOKEN = "sandbox-token"  # the receiver's dispatch token in receiver_support.receiver_env


@pytest.fixture(scope="module")
def receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    root = tmp_path_factory.mktemp("secrets")
    service = start_receiver(root / "logs", root / "data", closed_port_url())
    yield service
    assert service.stop() == 0


def leaks(text: str | bytes, *values: str) -> list[str]:
    data = text.encode() if isinstance(text, str) else text
    return [v for v in values if v.encode() in data]


def test_status_and_health_answers_hold_no_secret(receiver: Service) -> None:
    brief_id = requests.post(f"{receiver.url}/api-endpoint", json=make_brief(task="quiet"), timeout=10).json()["id"]
    status = requests.get(f"{receiver.url}/briefs/{brief_id}", headers={"Authorization": f"Bearer {SECRET}"},
                          timeout=10)
    health = requests.get(f"{receiver.url}/health", timeout=10)
    assert status.status_code == 200 and health.status_code == 200
    for answer in (status, health):
        assert leaks(answer.content + json.dumps(dict(answer.headers)).encode(), SECRET, GITHUB_TOKEN) == []


WRONG = ["x", "wrong-secret", SECRET[:-1], SECRET + "x", SECRET[:-1] + "y", SECRET.upper(), "sécret-ñ-€",
         "x" * 100_000, " " + SECRET]


@pytest.mark.parametrize("given", [*WRONG, 123, None, ["list"], {"o": 1}],
                         ids=[*(f"wrong-{i}" for i in range(len(WRONG))), "number", "null", "array", "object"])
def test_every_wrong_secret_gets_the_same_403_that_echoes_nothing(receiver: Service, given: Any) -> None:
    brief = make_brief(task="guess", secret=given)
    r = requests.post(f"{receiver.url}/api-endpoint", json=brief, timeout=30)
    assert r.status_code == 403
    assert r.json() == {"error": "forbidden", "detail": "the secret is missing or wrong"}
    assert leaks(r.content, SECRET) == [] and (not isinstance(given, str) or given.encode() not in r.content)


@pytest.mark.parametrize("bearer", ["wrong", SECRET[:-1], "sécret", SECRET + "x"])
def test_a_wrong_operator_secret_is_401_and_not_echoed(receiver: Service, bearer: str) -> None:
    r = requests.get(f"{receiver.url}/briefs/anything", headers={"Authorization": f"Bearer {bearer}".encode()},
                     timeout=10)
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"
    assert leaks(r.content, SECRET, bearer) == []


def test_a_bad_brief_holding_the_secret_in_its_fields_does_not_echo_it(receiver: Service) -> None:
    """Right secret, but the secret's value pasted into other fields that break their rules: the 400 names the
    fields and never quotes their values, and the log does not either."""
    brief = make_brief(task=f"{SECRET}/x", email=SECRET, evaluation_url=f"ftp://{SECRET}",
                       attachments=[{"name": f"../{SECRET}", "url": f"https://{SECRET}"}])
    r = requests.post(f"{receiver.url}/api-endpoint", json=brief, timeout=10)
    assert r.status_code == 400
    assert {d["field"] for d in r.json()["detail"]} == {"task", "email", "evaluation_url", "attachments[0].name",
                                                         "attachments[0].url"}
    assert leaks(r.content, SECRET) == []
    assert leaks(receiver.log(), SECRET, GITHUB_TOKEN) == []


# --- the action -------------------------------------------------------------------------------------------------


def run(d: Deployer, brief: dict[str, Any], event_name: str = "repository_dispatch", **env: str) -> ActionRun:
    event = dispatch_event(brief) if event_name == "repository_dispatch" else {"inputs": {"brief": json.dumps(brief)}}
    return d.run(event_name, event, extra_env={**FAST, **env})


def test_a_failure_whose_cause_quotes_the_secrets_is_redacted_in_log_and_summary(deployer: Deployer) -> None:
    """A proxy in front of OpenRouter answers 401 quoting the key and the GitHub token it saw: the one ::error::
    line and the job summary carry the message, with both values replaced by ***."""
    quoted = f"invalid key {deployer.openrouter.key} (and {deployer.github.token})"
    deployer.openrouter.script({"status": 401, "body": {"error": {"code": 401, "message": quoted}}})
    result = run(deployer, fresh("sum-of-sales.r1.json", deployer))
    assert result.returncode == 1
    assert len(result.errors) == 1 and "generate stage failed" in result.errors[0] and "***" in result.errors[0]
    assert "Deployment failed" in result.summary and "***" in result.summary
    assert leaks(result.shown + result.stderr + result.summary, deployer.openrouter.key, deployer.github.token) == []


def test_a_pasted_brief_that_breaks_the_rules_never_shows_its_secret(deployer: Deployer) -> None:
    """workflow_dispatch with a brief whose secret is also pasted into fields that fail: the brief stage fails
    before the secret could be masked, so the error must not quote any field value."""
    brief = fresh("sum-of-sales.r1.json", deployer)
    secret = "pasted-" + secrets.token_hex(12)
    brief.update(secret=secret, email=secret, task=f"{secret}/bad", nonce=f"{secret}\nx")
    result = run(deployer, brief, event_name="workflow_dispatch")
    assert result.returncode == 1 and "brief stage failed" in result.errors[0]
    assert leaks(result.stdout + result.stderr + result.summary, secret) == []


def tree(bare: Path) -> list[tuple[str, str]]:
    """(mode, path) of every entry at the head, recursively."""
    out = subprocess.run(["git", "--git-dir", str(bare), "ls-tree", "-r", "-t", "HEAD"], capture_output=True,
                         text=True, check=True).stdout
    return [(line.split()[0], line.split("\t", 1)[1]) for line in out.splitlines()]


PAGE = ("<!doctype html>\n<html><head><title>Sales</title></head>\n<body><h1>Sales</h1>{extra}</body></html>\n")
TOKENS = {
    "GitHub token": "ghp_" + "A1b2C3d4E5" * 3 + "F6g7H8",  # ghp_ + 36 characters
    "OpenRouter key": "sk-or-v1-" + "0123456789abcdef" * 4,
    "AWS access key id": "AKIA" + "IOSFODNN7EXAMPLQ",
}


def test_token_like_strings_from_the_model_are_never_committed(deployer: Deployer) -> None:
    """The model's first answer embeds a GitHub token, an OpenRouter key and an AWS key id; validation asks for a
    repair (the stand-in's own app). None of the three is in any object of the repository, in the repair prompt
    sent back to the model, or in the run's log."""
    leaky = "".join(f"<p>{name}: {value}</p>\n" for name, value in TOKENS.items())
    since = len(deployer.openrouter.generation_requests())
    deployer.openrouter.script({"content": f'<file path="index.html">\n{PAGE.format(extra=leaky)}</file>\n'})
    brief = fresh("sum-of-sales.r1.json", deployer)
    result = run(deployer, brief)
    assert result.returncode == 0, result.stdout + result.stderr
    chats = deployer.openrouter.generation_requests()[since:]
    assert len(chats) == 2  # the leaky answer, then the repair
    repair = json.dumps(chats[1]["body"])
    assert all(f"contains what looks like {label}" in repair for label in ("a GitHub token", "an OpenRouter API key",
                                                                           "an AWS access key id"))
    bare = repository(deployer, brief["task"])
    assert leaks(git_objects(bare), *TOKENS.values()) == []
    assert leaks(repair + result.stdout + result.summary, *TOKENS.values()) == []


ESCAPES = ["../escape.txt", "/etc/evil.txt", "sub/../../up.txt", ".github/workflows/evil.yml", ".git/hooks/post-merge",
           "C:/windows.txt", "back\\slash.txt", "./dot.txt"]


def test_files_outside_the_site_from_the_model_are_never_committed(deployer: Deployer) -> None:
    """Paths that climb out, absolute paths, a workflow the brief did not ask for, git internals: all refused and
    repaired. Nothing of them is in the repository, every entry is a plain file or directory (no symlink, no
    submodule: the tree is built by code with mode 100644), and nothing was written outside the repositories."""
    marker = "ESCAPED-" + secrets.token_hex(8)
    evil = "".join(f'<file path="{path}">\n{marker} {path}\n</file>\n' for path in ESCAPES)
    since = len(deployer.openrouter.generation_requests())
    deployer.openrouter.script({"content": f'<file path="index.html">\n{PAGE.format(extra="")}</file>\n{evil}'})
    brief = fresh("sum-of-sales.r1.json", deployer)
    result = run(deployer, brief)
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(deployer.openrouter.generation_requests()[since:]) == 2  # the escaping answer, then the repair
    bare = repository(deployer, brief["task"])
    entries = tree(bare)
    assert {mode for mode, _ in entries} <= {"100644", "040000"}, entries
    assert not [p for _, p in entries if p.startswith((".github", ".git/", "/")) or ".." in p.split("/")]
    assert marker.encode() not in git_objects(bare)
    data_dir = bare.parent.parent
    assert not [p for p in data_dir.parent.rglob("*") if p.is_file() and marker.encode() in p.read_bytes()]
