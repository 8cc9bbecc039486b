"""The sentence patterns, the round planner's fallback: over the table of phrasings (tests/action/plan_phrasings.py)
they take the intended decisions, and they say where a decision came from."""

from __future__ import annotations

import pytest

from action.brief_patterns import named_strings, supports_rewrite
from action.published import Published
from action.round_plan import plan_round
from tests.action.plan_phrasings import PHRASINGS, Phrasing, assert_decisions


def test_the_table_is_big_and_varied_enough() -> None:
    assert len(PHRASINGS) >= 30
    assert sum(bool(p.rewrite) for p in PHRASINGS) >= 10 and sum(p.workflow for p in PHRASINGS) >= 6
    assert sum(bool(p.excluded) for p in PHRASINGS) >= 8 and sum(p.build for p in PHRASINGS) >= 5
    assert sum(not (p.rewrite or p.excluded or p.workflow or p.build) for p in PHRASINGS) >= 8


@pytest.mark.parametrize("phrasing", PHRASINGS, ids=lambda p: p.brief[:60])
def test_the_patterns_take_the_intended_decisions(phrasing: Phrasing) -> None:
    brief = phrasing.make()
    assert_decisions(plan_round(brief, Published.of(brief, "octo")), phrasing)


def test_a_rewrite_records_the_sentences_that_ask_for_it() -> None:
    brief = Phrasing("The attached script.js has a bug: the total skips the first row. Correct it and publish the "
                     "fixed file.", ("script.js",)).make()
    [use] = plan_round(brief, Published.of(brief, "octo")).attachments
    assert use.use == "rewrite" and use.quote == brief.brief


def test_the_words_that_ask_for_a_change_and_those_that_do_not() -> None:
    assert supports_rewrite("Commit execute.py after fixing the bug.", "execute.py")
    assert supports_rewrite("execute.py (with a bug): fix it.", "execute.py")
    assert not supports_rewrite("execute.py (with a bug) is shown as an example of a bug.", "execute.py")
    assert not supports_rewrite("Do not modify notes.md.", "notes.md")
    assert not supports_rewrite("Fix the bug in main.js.", "notes.md")


def test_exact_strings_and_the_checks_that_read_them() -> None:
    brief = Phrasing('Set the title to "Sales Summary iklj4", the heading to "Quarterly sales" and show the total '
                     "in #total-sales.", ("data.csv",),
                     checks=({"js": "document.title === `Sales Summary iklj4`"},
                             {"js": "document.querySelector('#total-sales').textContent === '5'"},
                             "The heading reads Quarterly sales")).make()
    assert named_strings(brief) == [("Sales Summary iklj4", "title", (0,)), ("Quarterly sales", "heading", (2,)),
                                    ("total-sales", "id", (1,))]
