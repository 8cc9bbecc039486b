"""Verification follows the round plan: an attachment the plan lets the model rewrite is committed as the model
wrote it, so a repository check does not compare it with the attachment (that would ask the model to undo its fix),
while every other attachment still must be byte for byte."""

from __future__ import annotations

from action.verify.browser import Outcome
from action.verify.verifier import Verifier
from tests.action.plan_phrasings import CONTENT, Phrasing

BRIEF = Phrasing("Commit execute.py after fixing it; commit data.csv as-is.", ("execute.py", "data.csv"),
                 checks=("execute.py is committed", "data.csv is committed as-is")).make()
SITE = {"index.html": b"<p>x</p>", "execute.py": b"print('fixed')\n", "data.csv": CONTENT["csv"]}


def outcomes(rewritten: frozenset[str], site: dict[str, bytes]) -> list[tuple[Outcome, str]]:
    verifier = Verifier.prepare(BRIEF, [], llm=None, prefix="/", rewritten=rewritten)
    return [(r.outcome, r.detail) for r in verifier.check_live("http://127.0.0.1:9/", site)]


def test_a_rewritten_attachment_is_not_compared_but_the_others_are() -> None:
    assert outcomes(frozenset({"execute.py"}), SITE) == [
        (Outcome.PASSED, "execute.py present as expected"), (Outcome.PASSED, "data.csv present as expected")]
    assert outcomes(frozenset(), SITE)[0] == (Outcome.FAILED, "execute.py differs from the attachment of that name")
    changed = {**SITE, "data.csv": b"region,sales\n"}
    assert outcomes(frozenset({"execute.py"}), changed)[1] == (
        Outcome.FAILED, "data.csv differs from the attachment of that name")
