"""Check generated files before anything is committed; each Problem is phrased so the model can fix it.

Problem messages never quote a matched secret: they go back to the model in the repair prompt and into logs.
Everything here is pure except `check_js`, which runs `node --check` on temporary copies when node exists.
"""

from __future__ import annotations

import itertools
import json
import posixpath
import re
import shutil
import subprocess
import tempfile
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from urllib.parse import unquote, urlsplit

import html5lib

MAX_FILE_BYTES = 1024 * 1024
MAX_TOTAL_BYTES = 5 * 1024 * 1024
MAX_FILES = 100
MAX_PATH_LEN = 255
NODE_TIMEOUT_S = 30.0
WORKFLOW_DIR = ".github/workflows/"
SECRET_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a GitHub token (ghp_/gho_/ghu_/ghs_/ghr_)", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}")),
    ("a GitHub fine-grained token (github_pat_)", re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}")),
    ("an OpenRouter API key (sk-or-...)", re.compile(r"\bsk-or-[A-Za-z0-9_-]{16,}")),
    ("an AWS access key id (AKIA/ASIA...)", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("a private key block", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")),
)
_HTML_EXTS = (".html", ".htm")
_JS_EXTS = (".js", ".mjs", ".cjs")
_URL_ATTRS = {
    "script": ("src",), "link": ("href",), "img": ("src",), "source": ("src",), "video": ("src", "poster"),
    "audio": ("src",), "iframe": ("src",), "embed": ("src",), "object": ("data",), "track": ("src",), "a": ("href",),
}
_JS_TYPES = {"", "text/javascript", "application/javascript", "module"}
_TEMPLATE_MARKERS = ("{{", "${", "{%")
_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_MODULE_RE = re.compile(r"^\s*(?:import\s*[\w*{'\"]|export\s)", re.MULTILINE)


class ProblemKind(StrEnum):
    """What went wrong, so a repair request says it truly (each kind has its words in `prompts/problems-*.md`)."""

    INVALID = "invalid"  # the answer cannot be published: validation, a workflow, the build step
    EDIT = "edit"  # an edit block that did not apply
    CHECK = "check"  # a check of the brief failed on the served site
    COPIED = "copied"  # a figure typed into the page: it stays the same with other data


@dataclass(frozen=True)
class Problem:
    path: str
    message: str
    kind: ProblemKind = ProblemKind.INVALID

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"

    def redacted(self, secrets: Iterable[str | None]) -> Problem:
        """The same problem with every secret removed from its words."""
        return replace(self, path=redact_secrets(self.path, secrets), message=redact_secrets(self.message, secrets))


def validate(
    files: Mapping[str, str],
    *,
    attachments: Collection[str] = (),
    secrets: Iterable[str | None] = (),
    allow_workflows: bool = False,
    node: str | None = None,
) -> list[Problem]:
    """Every problem in `files`; empty means safe to assemble. `node` is the node binary (None: found on PATH)."""
    problems = check_files(files, attachments=attachments, secrets=secrets, allow_workflows=allow_workflows)
    unsafe = {p.path for p in problems}
    problems += check_js({p: c for p, c in files.items() if p not in unsafe}, node=node or shutil.which("node"))
    return problems


def check_files(
    files: Mapping[str, str],
    *,
    attachments: Collection[str] = (),
    secrets: Iterable[str | None] = (),
    allow_workflows: bool = False,
) -> list[Problem]:
    """The pure checks: paths, sizes, HTML structure, local references, secrets."""
    problems: list[Problem] = []
    if len(files) > MAX_FILES:
        problems.append(Problem("(site)", f"{len(files)} files is more than the limit of {MAX_FILES}"))
    total = 0
    for path, content in files.items():
        if (why := path_problem(path, allow_workflows=allow_workflows)) is not None:
            problems.append(Problem(path, why))
            continue
        if path in attachments:
            problems.append(Problem(path, "has the name of an attachment, which is committed as-is; do not write it"))
        size = len(content.encode("utf-8"))
        total += size
        if size > MAX_FILE_BYTES:
            problems.append(Problem(path, f"is {size} bytes, over the limit of {MAX_FILE_BYTES} per file"))
        problems += [Problem(path, m) for m in find_secrets(content, secrets)]
        if path.lower().endswith(".json"):
            try:
                json.loads(content)
            except ValueError as exc:
                problems.append(Problem(path, f"is not valid JSON ({exc})"))
        if path.lower().endswith(_HTML_EXTS):
            problems += [Problem(path, m) for m in html_problems(path, content, set(files) | set(attachments))]
    if total > MAX_TOTAL_BYTES:
        problems.append(Problem("(site)", f"the files total {total} bytes, over the limit of {MAX_TOTAL_BYTES}"))
    if "index.html" not in files:
        problems.append(Problem("index.html", "is missing; the site needs an index.html at its root"))
    return problems


def path_problem(path: str, *, allow_workflows: bool = False) -> str | None:
    """Why `path` may not be written into the repository, or None when it is a safe relative path."""
    if not path or not path.strip():
        return "the path is empty"
    if len(path) > MAX_PATH_LEN:
        return f"the path is longer than {MAX_PATH_LEN} characters"
    if any(ord(c) < 32 or ord(c) == 127 for c in path):
        return "the path contains control characters"
    if "\\" in path:
        return "the path contains a backslash; use '/' between directories"
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        return "the path is absolute; use a path relative to the site root"
    parts = path.split("/")
    if ".." in parts:
        return "the path contains '..'; every file must stay inside the site"
    if any(part in ("", ".") for part in parts):
        return "the path has an empty or '.' segment"
    if any(part.lower() == ".git" for part in parts):
        return "the path is inside .git"
    if parts[0].lower() == ".github":
        if not allow_workflows:
            return "files under .github/ (such as workflows) are not allowed for this brief"
        if not path.startswith(WORKFLOW_DIR):
            return f"only workflows under {WORKFLOW_DIR} are allowed under .github/"
    return None


def find_secrets(text: str, secrets: Iterable[str | None] = ()) -> list[str]:
    """What secret-like strings `text` contains, described without quoting them."""
    found = [
        f"contains what looks like {label} on line {text.count(chr(10), 0, m.start()) + 1}; remove it"
        for label, pattern in SECRET_PATTERNS
        if (m := pattern.search(text)) is not None
    ]
    if any(secret and secret in text for secret in secrets):
        found.append("contains the value of a secret given to the action; remove it")
    return found


def redact_secrets(text: str, secrets: Iterable[str | None] = (), replacement: str = "[secret removed]") -> str:
    """`text` with every secret-like string and every given secret value replaced."""
    for value in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(value, replacement)
    for _label, pattern in SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def html_problems(path: str, content: str, available: Collection[str]) -> list[str]:
    """Structure errors that break a page, and local references that point at nothing."""
    problems: list[str] = []
    if path == "index.html":
        for tag in ("html", "body"):
            if not re.search(rf"<{tag}[\s>]", content, re.IGNORECASE):
                problems.append(f"has no <{tag}> element; write a whole HTML document")
    parser = html5lib.HTMLParser(namespaceHTMLElements=False)
    tree = parser.parse(content)
    for (line, _col), code, data in parser.errors:
        if code.startswith("eof-in-") or code.endswith("but-got-eof"):
            what = f" <{data['name']}>" if isinstance(data, dict) and data.get("name") else ""
            problems.append(f"HTML ends inside an unclosed{what} ({code} at line {line}); the document is cut off")
    base = posixpath.dirname(path)
    for element in tree.iter():
        for attr in _URL_ATTRS.get(str(element.tag), ()):
            ref = element.get(attr)
            if ref is not None and (why := _reference_problem(ref, base, available)) is not None:
                problems.append(f"<{element.tag} {attr}=\"{ref}\"> {why}")
    return problems


def _reference_problem(ref: str, base: str, available: Collection[str]) -> str | None:
    ref = ref.strip()
    if not ref or ref.startswith(("#", "//", "?")) or _SCHEME_RE.match(ref) or any(m in ref for m in _TEMPLATE_MARKERS):
        return None
    target = unquote(urlsplit(ref).path)
    if not target:
        return None
    if target.startswith("/"):
        return "is root-relative, which breaks on a project Pages site served under /<repo>/; use a relative path"
    resolved = posixpath.normpath(posixpath.join(base, target))
    if resolved == ".." or resolved.startswith("../"):
        return "points outside the site"
    if target.endswith("/") or resolved == ".":
        resolved = posixpath.normpath(posixpath.join(resolved, "index.html"))
    if resolved in available:
        return None
    return "points to a file that is neither generated nor an attachment"


def inline_scripts(content: str) -> list[tuple[int, bool, str]]:
    """(position, is_module, code) of each inline JavaScript <script> in an HTML document."""
    tree = html5lib.HTMLParser(namespaceHTMLElements=False).parse(content)
    scripts = []
    for n, element in enumerate(tree.iter("script"), start=1):
        kind = (element.get("type") or "").strip().lower()
        code = element.text or ""
        if element.get("src") is None and kind in _JS_TYPES and code.strip():
            scripts.append((n, kind == "module", code))
    return scripts


def check_js(files: Mapping[str, str], *, node: str | None) -> list[Problem]:
    """Syntax-check JS files and inline scripts with `node --check`; nothing to report without node.

    A `.js` file passes if it parses as a classic script or as an ES module, since pages load either; when both
    fail, the error shown is that of the kind the file looks like (a module if it has import/export lines).
    """
    if node is None:
        return []
    problems: list[Problem] = []
    with tempfile.TemporaryDirectory(prefix="deployer-js-") as tmp:
        names = (Path(tmp) / f"check{n}" for n in itertools.count())
        for path, content in sorted(files.items()):
            lower = path.lower()
            if lower.endswith(_JS_EXTS):
                if (error := _node_check(node, names, path, content, _modes(lower, content))) is not None:
                    problems.append(Problem(path, f"JavaScript does not parse: {error}"))
            elif lower.endswith(_HTML_EXTS):
                for n, is_module, code in inline_scripts(content):
                    modes = (".mjs",) if is_module else (".cjs",)
                    if (error := _node_check(node, names, f"{path} <script> #{n}", code, modes)) is not None:
                        problems.append(Problem(path, f"inline <script> #{n} does not parse: {error}"))
    return problems


def _modes(lower_path: str, content: str) -> tuple[str, ...]:
    """File suffixes that make node parse the code as a module (.mjs) or a classic script (.cjs), likeliest first."""
    if lower_path.endswith(".mjs"):
        return (".mjs",)
    if lower_path.endswith(".cjs"):
        return (".cjs",)
    return (".mjs", ".cjs") if _MODULE_RE.search(content) else (".cjs", ".mjs")


def _node_check(node: str, names: Iterator[Path], label: str, code: str, modes: tuple[str, ...]) -> str | None:
    """None when `code` parses in one of `modes`; otherwise node's error for the first mode, with our file name."""
    errors: list[str] = []
    for suffix in modes:
        file = next(names).with_suffix(suffix)
        file.write_text(code, encoding="utf-8")
        try:
            result = subprocess.run(
                [node, "--check", str(file)], capture_output=True, text=True, timeout=NODE_TIMEOUT_S, check=False,
            )
        except subprocess.TimeoutExpired:
            return f"node --check took longer than {NODE_TIMEOUT_S:.0f}s"
        if result.returncode == 0:
            return None
        errors.append(_node_error(result.stderr, str(file), label))
    return errors[0]


def _node_error(stderr: str, tmp_name: str, label: str) -> str:
    lines = [line for line in stderr.replace(tmp_name, label).splitlines() if line.strip()]
    keep = [line for line in lines if not line.lstrip().startswith(("at ", "Node.js v"))]
    return " | ".join(keep[:4])[:500]
