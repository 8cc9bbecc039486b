"""Two runs of one task against the GitHub emulator: the loser of the ref update is told so (BranchMoved), and a
commit that another run built on waits for that later head's Pages build."""

from __future__ import annotations

import time
from typing import Any

import pytest

from action.github_client import open_github
from action.pages import enable_pages, wait_for_build
from action.plan import plan_commit
from action.publish import (
    BranchMoved,
    create_repo,
    find_round_commit,
    later_head,
    push_commit,
)
from deployer.brief import Brief, parse_brief
from tests.conftest import GitHub


def brief(round_number: int) -> Brief:
    data: dict[str, Any] = {"email": "a@example.com", "task": "race", "round": round_number,
                            "nonce": f"n-{round_number}", "brief": "Race.", "evaluation_url": "http://127.0.0.1:9/"}
    return parse_brief(data, require_secret=False)


def site(text: str) -> dict[str, bytes]:
    return {"index.html": f"<!doctype html><html><body>{text}</body></html>\n".encode()}


def test_the_second_ref_update_on_the_same_head_loses_and_a_later_head_is_waited_for(github: GitHub) -> None:
    gh = open_github(github.token, github.url)
    repo, _ = create_repo(gh, github.user, github.user, "race", "Race.")
    github.settle(repo.full_name)
    _, initial, ours, _ = find_round_commit(repo, brief(1))
    assert initial is not None and not ours
    first = push_commit(gh, repo, plan_commit(brief(1), site("one")), initial)
    assert find_round_commit(repo, brief(1))[:3] == (first, first, True) and later_head(repo, first) is None
    with pytest.raises(BranchMoved, match="moved while we committed"):
        push_commit(gh, repo, plan_commit(brief(2), site("two")), initial)  # built on the head it read earlier

    enable_pages(gh, repo, known_new=True)
    second = push_commit(gh, repo, plan_commit(brief(2), site("two")), first)
    assert later_head(repo, first) == second
    status, _polls, built = wait_for_build(gh, repo, first, deadline=time.time() + 60,
                                           moved_on=lambda: later_head(repo, first))
    assert (status, built) == ("built", second)
