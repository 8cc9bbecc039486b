"""GitHub's documented waits for rate limits, and reads retried while a new repository settles."""

import pytest
from github import GithubException

from action.publish import RepositoryNotReady, settled
from deployer.retry import SECONDARY_WAIT_S, rate_limit_wait


def test_retry_after_wins_then_reset_then_a_doubling_minute() -> None:
    assert rate_limit_wait({"Retry-After": "7"}, 1000.0) == 7
    assert rate_limit_wait({"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1030"}, 1000.0) == 31
    assert rate_limit_wait({"x-ratelimit-remaining": "5"}, 1000.0) == SECONDARY_WAIT_S
    assert rate_limit_wait({}, 1000.0, hits=3) == 4 * SECONDARY_WAIT_S


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.now += s


def test_settled_reads_again_through_the_creation_lag() -> None:
    answers: list[object] = [GithubException(404, {"message": "Not Found"}),
                             GithubException(409, {"message": "Git Repository is empty."}), "head"]
    clock = Clock()

    def read() -> str:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert settled(read, "r", clock=clock, sleep=clock.sleep) == "head"
    assert 0 < clock.now < 5


def test_settled_gives_up_with_githubs_last_answer_and_passes_other_errors() -> None:
    clock = Clock()

    def missing() -> str:
        raise GithubException(404, {"message": "Not Found"})

    with pytest.raises(RepositoryNotReady, match="HTTP 404 \\(Not Found\\) 10 s"):
        settled(missing, "o/r", limit=10, clock=clock, sleep=clock.sleep)
    assert clock.now <= 10

    def forbidden() -> str:
        raise GithubException(403, {"message": "Forbidden"})

    with pytest.raises(GithubException):
        settled(forbidden, "o/r", clock=clock, sleep=clock.sleep)


def test_the_first_read_of_a_new_repository_waits_for_its_lag_to_pass() -> None:
    clock, reads = Clock(), []

    def read() -> str:
        reads.append(clock.now)
        return "head"

    assert settled(read, "r", not_before=3.0, clock=clock, sleep=clock.sleep) == "head"
    assert reads == [3.0]  # one read, once the lag is likely over
    clock.now = 10.0
    assert settled(read, "r", not_before=3.0, clock=clock, sleep=clock.sleep) == "head"
    assert reads == [3.0, 10.0]  # the model's turn was longer: no wait at all
