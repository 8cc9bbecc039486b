"""The round plan as the job summary shows it (a compact table) and as the generation prompt tells it (a short
`<round-plan>` section), and the prompt carrying that section into every request of the conversation."""

from __future__ import annotations

from action.plan_text import plan_section, plan_table
from action.prompt import build_messages, repair_messages
from action.round_plan import AttachmentUse, NamedString, RoundPlan
from tests.action.plan_phrasings import Phrasing

PLAN = RoundPlan(
    workflows_allowed=True, workflow="runs ruff | and python execute.py", excluded=frozenset({"result.json"}),
    attachments=(AttachmentUse("execute.py", "rewrite", "Fix the bug in\nexecute.py."), AttachmentUse("data.csv")),
    build="", files=("index.html", ".github/workflows/ci.yml"),
    named=(NamedString("Run report", "title", (0,)), NamedString("total", "id")), touches=("index.html",),
)


def test_the_summary_table_has_one_row_per_decision_and_escapes_pipes() -> None:
    assert plan_table(PLAN, "by the model sandbox/a") == "\n".join([
        "**Round plan** (by the model sandbox/a)", "", "| | plan |", "|---|---|",
        '| execute.py | rewrite: "Fix the bug in execute.py." |',
        "| data.csv | data |",
        "| never committed | result.json |",
        "| CI workflow | runs ruff \\| and python execute.py |",
        "| build step | - |",
        "| files | index.html, .github/workflows/ci.yml |",
        '| exact strings | title "Run report", read by check(s) 1; id "total" |',
        "| touches | index.html |",
    ])


def test_the_prompt_section_says_what_to_write_and_what_to_leave_alone() -> None:
    section = plan_section(PLAN)
    assert section.startswith("<round-plan>\n") and section.endswith("\n</round-plan>")
    assert '- execute.py: write your corrected version under this name (the brief: "Fix the bug in execute.py.")' \
        in section
    assert "- data.csv: input the app reads; committed unchanged, do not write it" in section
    assert "- never committed: result.json" in section and "- a GitHub Actions workflow: runs ruff" in section
    assert "- this change touches: index.html" in section and "build step" not in section
    assert "- no GitHub Actions workflow: the brief does not ask for one" in plan_section(RoundPlan())


def test_the_section_is_in_the_first_request_and_in_its_repairs() -> None:
    brief = Phrasing("Fix the bug in execute.py.", ("execute.py",)).make()
    section = plan_section(PLAN)
    first = build_messages(brief, {}, plan=section)
    assert section in first[1]["content"][-1]["text"]  # type: ignore[index]
    repair = repair_messages(brief, "answer", ["(answer): found no files"], {}, plan=section)
    assert repair[:2] == first
    assert section not in build_messages(brief, {})[1]["content"][-1]["text"]  # type: ignore[index]
