"""Repository checks, read from the assembled site as graders read them from the commit. Pure.

Each answers (passed, detail). What they look for: an MIT LICENSE with its permission notice; a README with a
title, several sections (graders judging "professional" look for summary, setup, usage, code explanation, license)
and some substance; named files present, absent, or equal to the attachment of that name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from action.verify.checks import FILE_NAME_RE, LICENSE_RE, NOT_COMMITTED_RE, README_RE

LICENSE_NAMES = ("LICENSE", "LICENSE.md", "LICENSE.txt", "license", "License")
README_NAMES = ("README.md", "readme.md", "README", "Readme.md")
MIT_MARKERS = ("MIT License", "Permission is hereby granted, free of charge")
README_SECTIONS = {
    "summary": r"summary|overview|about|introduction|description",
    "setup": r"setup|set-up|installation|install|getting started",
    "usage": r"usage|how to use|use",
    "code explanation": r"code|how it works|architecture|files|structure",
    "license": r"licen[cs]e",
}
MIN_README_CHARS = 300


def check_repository(statement: str, site: Mapping[str, bytes], attachments: Mapping[str, bytes]) -> tuple[bool, str]:
    if LICENSE_RE.search(statement) and not README_RE.search(statement):
        return _license(site, mit="mit" in statement.lower() or "license" in statement.lower())
    if README_RE.search(statement):
        return _readme(site)
    return _files(statement, site, attachments)


def _license(site: Mapping[str, bytes], *, mit: bool) -> tuple[bool, str]:
    name = next((n for n in LICENSE_NAMES if n in site), None)
    if name is None:
        return False, "no LICENSE file at the repository root"
    text = site[name].decode("utf-8", "replace")
    missing = [m for m in MIT_MARKERS if m not in text] if mit else []
    if missing:
        return False, f"{name} lacks the MIT text: " + "; ".join(repr(m) for m in missing)
    return True, f"{name} is the MIT License"


def _readme(site: Mapping[str, bytes]) -> tuple[bool, str]:
    name = next((n for n in README_NAMES if n in site), None)
    if name is None:
        return False, "no README.md at the repository root"
    text = site[name].decode("utf-8", "replace")
    headings = [h.strip().lower() for h in re.findall(r"^#{1,6}\s+(.+)$", text, re.M)]
    intro = re.match(r"\s*#[^\n]*\n(.*?)(?=^#|\Z)", text, re.S | re.M)
    missing = [s for s, words in README_SECTIONS.items()
               if not any(re.search(rf"\b(?:{words})\b", h) for h in headings)
               and not (s == "summary" and intro and intro.group(1).strip())]
    if not text.lstrip().startswith("#"):
        missing.insert(0, "a title heading first")
    if len(text.strip()) < MIN_README_CHARS:
        missing.append(f"at least {MIN_README_CHARS} characters (has {len(text.strip())})")
    if missing:
        return False, f"{name} lacks: " + ", ".join(missing)
    return True, f"{name} has a title and sections: " + ", ".join(README_SECTIONS)


def _files(statement: str, site: Mapping[str, bytes], attachments: Mapping[str, bytes]) -> tuple[bool, str]:
    names = list(dict.fromkeys(FILE_NAME_RE.findall(statement)))
    absent_wanted = bool(NOT_COMMITTED_RE.search(statement))
    problems: list[str] = []
    for name in names:
        if absent_wanted:
            if name in site:
                problems.append(f"{name} is committed")
            continue
        if name not in site:
            problems.append(f"{name} is not in the repository")
        elif name in attachments and site[name] != attachments[name]:
            problems.append(f"{name} differs from the attachment of that name")
    if problems:
        return False, "; ".join(problems)
    if not names:
        return True, "no file named; nothing to check in the repository"
    return True, ", ".join(names) + (" not committed" if absent_wanted else " present as expected")
