"""The site to commit: generated files, the attachments byte for byte, and the files code writes itself.

Written by code, never by the model:
- `LICENSE`: the MIT text (`prompts/license.txt`) with the year and the owner.
- `README.md`: a template (`prompts/readme.md`) filled from the brief and the files. A template rather than model
  prose, because it is certain to have every section graders look for (summary, setup, usage, code explanation,
  license) and costs no tokens; the code explanation is derived from the files themselves.
- `.deployer/brief.json`: the brief text, checks and attachment names of every round so far (no secret, no e-mail),
  so round 2 can read what round 1 was asked. It is read from the repository, not from Pages, so it may stay in
  a dot-directory that Jekyll does not publish.
- `.nojekyll`, only when a path has a segment starting with `_`, which Jekyll would otherwise leave unpublished.
A generated file with one of these reserved names is replaced (see `RESERVED`), and an attachment always wins over a
generated file of the same name (validation already asks the model not to write one).
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Collection, Iterable, Mapping
from string import Template
from typing import Any

import html5lib

from action.prompt import load
from action.validate import redact_secrets
from deployer.brief import Brief

METADATA_PATH = ".deployer/brief.json"
RESERVED = frozenset({"license", "license.md", "license.txt", "readme.md", "readme", "readme.txt", ".nojekyll"})
_JS_FUNCTION_RE = re.compile(
    r"^\s*(?:export\s+)?(?:async\s+)?function\s*\*?\s*([A-Za-z_$][\w$]*)\s*\("
    r"|^\s*(?:export\s+)?(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=\s*(?:async\s+)?(?:function\b|\([^)]*\)\s*=>|"
    r"[A-Za-z_$][\w$]*\s*=>)",
    re.MULTILINE,
)
_KINDS = {
    ".css": "Styles.", ".json": "Data (JSON).", ".csv": "Data (CSV).", ".svg": "Image (SVG).", ".md": "Markdown text.",
    ".txt": "Text.", ".xml": "Data (XML).", ".yml": "YAML configuration.", ".yaml": "YAML configuration.",
    ".webmanifest": "Web app manifest.",
}


def is_reserved(path: str) -> bool:
    """Paths code writes: a generated file by that name is dropped."""
    return path.lower() in RESERVED or path == METADATA_PATH or path.startswith(".deployer/")


def assemble(
    brief: Brief,
    files: Mapping[str, str],
    *,
    owner: str,
    year: int,
    previous: Mapping[str, Any] | None = None,
    secrets: Iterable[str | None] = (),
    kept: Mapping[str, bytes] | None = None,
    rewritten: Collection[str] = (),
) -> dict[str, bytes]:
    """The whole site as path -> bytes, sorted by path; the same inputs give the same bytes.

    `kept` (later rounds): published files carried over unchanged under the generated ones, such as earlier
    attachments and the LICENSE, which keeps its first year. `rewritten`: attachments the brief asks to fix
    (the round plan's `rewritable`); the model's version of one of those wins over the attachment."""
    secrets = list(secrets)
    meta = metadata(brief, previous, secrets)
    site: dict[str, bytes] = dict(kept or {})
    site.update({p: c.encode("utf-8") for p, c in files.items() if not is_reserved(p)})
    for attachment in brief.attachments:
        if not (attachment.name in rewritten and attachment.name in files):
            site[attachment.name] = attachment.decode().data
    named = [n for r in meta["rounds"] for n in r["attachments"]]
    attachments = [n for n in dict.fromkeys(named) if n in site]
    site.setdefault("LICENSE", license_text(owner, year).encode("utf-8"))
    site["README.md"] = readme(brief.task, site_files=files, attachments=attachments, meta=meta, owner=owner,
                               year=year).encode("utf-8")
    site[METADATA_PATH] = (json.dumps(meta, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
    if any(part.startswith("_") for path in site for part in path.split("/")):
        site[".nojekyll"] = b""
    return dict(sorted(site.items()))


def license_text(owner: str, year: int) -> str:
    if not owner.strip() or any(c in owner for c in "\r\n"):
        raise ValueError("the LICENSE owner must be a non-empty single line")
    return Template(load("license.txt")).substitute(year=year, owner=owner.strip())


def metadata(brief: Brief, previous: Mapping[str, Any] | None, secrets: Iterable[str | None] = ()) -> dict[str, Any]:
    """Every round's brief, checks and attachment names; this round replaces an earlier record of itself."""
    secrets = list(secrets)
    rounds = [r for r in (previous or {}).get("rounds", []) if isinstance(r, dict) and r.get("round") != brief.round]
    rounds.append({
        "round": brief.round,
        "nonce": brief.nonce,
        "brief": redact_secrets(brief.brief, secrets),
        "checks": json.loads(redact_secrets(json.dumps(brief.checks), secrets)),
        "attachments": [a.name for a in brief.attachments],
    })
    return {"task": brief.task, "rounds": sorted(rounds, key=lambda r: int(r.get("round", 0)))}








def readme(
    title: str, *, site_files: Mapping[str, str], attachments: Iterable[str], meta: Mapping[str, Any], owner: str,
    year: int,
) -> str:
    rounds = meta.get("rounds", [])
    first, later = (rounds[0], rounds[1:]) if rounds else ({}, [])
    summary = "This site was generated from the following brief:\n\n" + _quote(str(first.get("brief", "")))
    for entry in later:
        summary += f"\n\nChanges asked for in round {entry.get('round')}:\n\n" + _quote(str(entry.get("brief", "")))
    rows = [f"| `{_cell(p)}` | {_cell(file_summary(p, c))} |" for p, c in sorted(site_files.items())
            if not is_reserved(p)]
    rows += [f"| `{_cell(name)}` | Attachment supplied with the brief, committed unchanged. |" for name in attachments]
    rows += ["| `LICENSE` | The MIT License. |", f"| `{METADATA_PATH}` | The brief and checks of each round. |"]
    usage = "Everything runs in the browser; no account, key or server is needed."
    if "index.html" in site_files:
        usage = "The app starts from `index.html`. " + usage
    return Template(load("readme.md")).substitute(
        title=title, summary=summary, usage=usage, files="\n".join(rows), year=year, owner=owner,
    )


def file_summary(path: str, content: str) -> str:
    """One line on what a generated file is, read from the file itself."""
    ext = posixpath.splitext(path)[1].lower()
    if ext in (".html", ".htm"):
        return _describe_html(content)
    if ext in (".js", ".mjs", ".cjs"):
        names = list(dict.fromkeys(a or b for a, b in _JS_FUNCTION_RE.findall(content)))
        shown = ", ".join(f"`{n}()`" for n in names[:8]) + (", ..." if len(names) > 8 else "")
        return "JavaScript" + (f" defining {shown}." if names else ".")
    return _KINDS.get(ext, "Site file.")


def _describe_html(content: str) -> str:
    tree = html5lib.HTMLParser(namespaceHTMLElements=False).parse(content)
    title = next((" ".join((t.text or "").split()) for t in tree.iter("title")), "")
    scripts = [s.get("src") for s in tree.iter("script") if s.get("src")]
    styles = [link.get("href") for link in tree.iter("link") if "stylesheet" in (link.get("rel") or "").lower()]
    inline = sum(1 for s in tree.iter("script") if not s.get("src") and (s.text or "").strip())
    parts = [f'HTML page "{title}".' if title else "HTML page."]
    if styles:
        parts.append("Styles: " + ", ".join(f"`{s}`" for s in styles) + ".")
    if scripts:
        parts.append("Scripts: " + ", ".join(f"`{s}`" for s in scripts) + ".")
    if inline:
        parts.append(f"{inline} inline script{'s' if inline > 1 else ''}.")
    return " ".join(parts)


def _quote(text: str) -> str:
    return "\n".join(f"> {line}".rstrip() for line in text.strip().splitlines()) or "> (no text)"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")
