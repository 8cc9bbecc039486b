"""The repository stage alone, against the GitHub emulator: the state is read once (a missing repository, a
published round to build on, a round already committed), and a repository with nothing to build on is named."""

from __future__ import annotations

from typing import Any

import pytest

from action.assemble import assemble
from action.github_client import open_github
from action.plan import plan_commit
from action.publish import (
    EmptyRepository,
    committed_round,
    push_commit,
    read_published,
    repository_to_build_on,
)
from deployer.brief import Brief, parse_brief
from tests.conftest import GitHub


def brief(round_number: int, task: str = "state") -> Brief:
    data: dict[str, Any] = {"email": "a@example.com", "task": task, "round": round_number, "nonce": f"n-{round_number}",
                            "brief": "Show the state.", "evaluation_url": "http://127.0.0.1:9/", "checks": ["c"]}
    return parse_brief(data, require_secret=False)


def test_a_missing_repository_then_a_published_round(github: GitHub) -> None:
    gh = open_github(github.token, github.url)
    missing = read_published(gh, brief(1), owner=github.user, login=github.user, token=github.token)
    assert (missing.repo, missing.head, missing.files, committed_round(missing)) == (None, None, {}, None)

    repo, head, created = repository_to_build_on(gh, missing, brief(1))
    assert created and repo.full_name == f"{github.user}/state"
    site = assemble(brief(1), {"index.html": "<p>one</p>"}, owner=github.user, year=2026)
    first = push_commit(gh, repo, plan_commit(brief(1), site), head)

    second = read_published(gh, brief(2), owner=github.user, login=github.user, token=github.token)
    assert second.head == first and second.round_commit is None and committed_round(second) is None
    assert second.files == site and second.model_files == {"index.html": "<p>one</p>"}
    assert second.earlier_checks == ("c",)
    assert repository_to_build_on(gh, second, brief(2))[1:] == (first, False)

    again = read_published(gh, brief(1), owner=github.user, login=github.user, token=github.token)
    commit = committed_round(again)
    assert commit is not None and (commit.sha, commit.is_head, commit.plan) == (first, True, None)
    assert again.files == {}  # nothing to generate: the tree is not read


def test_a_repository_without_a_commit_is_named(github: GitHub) -> None:
    gh = open_github(github.token, github.url)
    gh.get_user().create_repo("empty", auto_init=False)
    github.settle(f"{github.user}/empty")
    published = read_published(gh, brief(1, "empty"), owner=github.user, login=github.user, token=github.token)
    assert published.repo is not None and published.head is None
    with pytest.raises(EmptyRepository, match=r"sandbox/empty has no commit on main to build on"):
        repository_to_build_on(gh, published, brief(1, "empty"))
