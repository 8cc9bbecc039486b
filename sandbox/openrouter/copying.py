"""A model's favourite shortcut: copying the figure a check expects into the page instead of computing it.

Pure. A check that reads one element's text and compares it with a number (`#total-sales` ... `5109.25`) shows
today's value; a model that pastes that number into the static HTML, with no script reading the data, passes that
check and fails a grader who serves other data. The varied style writes such a site now and then (writer.py);
the action's perturbation check must catch it.
"""

from __future__ import annotations

import re

from sandbox.openrouter.prompt import Prompt

# An element the check reads by id: querySelector("#id") or getElementById("id"), nothing more in the selector.
READ_BY_ID_RE = re.compile(
    r"""(?:querySelector\(\s*["'`]#([A-Za-z][\w-]*)["'`]\s*\)|getElementById\(\s*["'`]([A-Za-z][\w-]*)["'`]\s*\))"""
    r"""\s*\.\s*(?:textContent|innerText)""")
NUMBER_RE = re.compile(r"(?<![\w.#-])-?\d+(?:\.\d+)?(?![\w.])")
ELEMENT_RE = r"(<(\w+)\b[^>]*\bid=[\"']{id}[\"'][^>]*>)(.*?)(</\2>)"


def constants(prompt: Prompt) -> dict[str, str]:
    """id -> the number a check expects in that element's text (the first one of at least 1: not a tolerance)."""
    found: dict[str, str] = {}
    for check in [*prompt.checks, *prompt.earlier_checks]:
        ids = [a or b for a, b in READ_BY_ID_RE.findall(check)]
        numbers = [n for n in NUMBER_RE.findall(check) if abs(float(n)) >= 1]
        if len(set(ids)) == 1 and numbers:
            found.setdefault(ids[0], numbers[0])
    return found


def write_constants(page: str, copied: dict[str, str]) -> str:
    """The page with each element's text replaced by the copied figure."""
    for element_id, value in copied.items():
        pattern = re.compile(ELEMENT_RE.format(id=re.escape(element_id)), re.S)
        page = pattern.sub(lambda m, v=value: f"{m.group(1)}{v}{m.group(4)}", page, count=1)
    return page
