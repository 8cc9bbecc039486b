"""Which of two verified sites to keep: a repair that makes things worse never replaces a better site. Pure.

`Verifier.soft_check` returns one problem per failing check and one per check whose figures are typed in, so a
site's score is the number of its problems. A tie goes to the newer site: it answers the latest repair request.
"""

from __future__ import annotations

from collections.abc import Sequence

from action.validate import Problem


def failing(problems: Sequence[Problem]) -> int:
    """How many checks a site fails (copied figures included): fewer is better."""
    return len(problems)


def replaces(new: Sequence[Problem], kept: Sequence[Problem] | None) -> bool:
    """Whether a newly verified site should replace the one kept so far (None: nothing kept yet)."""
    return kept is None or failing(new) <= failing(kept)
