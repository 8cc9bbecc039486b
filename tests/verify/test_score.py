"""Which verified site to keep: fewer failing checks wins, a tie goes to the newer (pure)."""

from __future__ import annotations

from action.validate import Problem, ProblemKind
from action.verify.score import failing, replaces

CHECK = Problem("browser check", "check 1 -> failed", ProblemKind.CHECK)
COPIED = Problem("typed-in figure", "check 2 passed, but ...", ProblemKind.COPIED)


def test_fewer_failing_checks_replace_more_and_never_the_other_way() -> None:
    assert failing([CHECK, COPIED]) == 2  # a typed-in figure counts like a failing check
    assert replaces([CHECK], None) and replaces([], [CHECK]) and replaces([COPIED], [CHECK])  # a tie: the newer
    assert not replaces([CHECK, COPIED], [CHECK]) and not replaces([CHECK], [])
