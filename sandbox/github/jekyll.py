"""What Jekyll makes of a branch-built site on GitHub Pages: pages rendered, everything else copied.

GitHub Pages runs Jekyll with its plugins, among them jekyll-optional-front-matter (every `.md` is a page, with
front matter or not), jekyll-readme-index (a README is the folder's index when it has none), jekyll-titles-from-
headings, jekyll-default-layout and jekyll-relative-links (docs.github.com, "About GitHub Pages and Jekyll";
pages.github.com/versions). So each Markdown file becomes `<name>.html` after Liquid (`liquid.py`) and Markdown
(`markdown.py`) ran on it, inside a default layout; any other file with front matter goes through Liquid; the
rest is copied as it is. A Liquid error fails the whole build with Jekyll's message, naming the file. Not done:
`_config.yml`, layouts and includes of the site, collections, Sass, themes beyond the default wrapper.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import yaml

from sandbox.github import liquid, markdown

MARKDOWN_EXTENSIONS = (".md", ".markdown", ".mkdown", ".mkdn", ".mkd")
# Jekyll's default `exclude` list (jekyll/lib/jekyll/configuration.rb).
EXCLUDED = ("Gemfile", "Gemfile.lock", "gemfiles/", "node_modules/", "vendor/bundle/", "vendor/cache/",
            "vendor/gems/", "vendor/ruby/")
_FRONT_MATTER = re.compile(rb"\A---[ \t]*\r?\n(.*?\r?\n)?---[ \t]*(?:\r?\n|\Z)", re.S)
LAYOUT = ('<!DOCTYPE html>\n<html lang="en-US">\n<head>\n<meta charset="UTF-8">\n<title>{title}</title>\n</head>\n'
          '<body>\n<div class="container-lg px-3 my-5 markdown-body">\n{content}</div>\n</body>\n</html>\n')

Entry = tuple[str, int, str]  # (path, mode, blob sha)
Output = tuple[str, int, "str | bytes"]  # a blob sha when copied, new content when rendered


class BuildError(Exception):
    """The build failed; the message is what Jekyll printed (`Liquid syntax error (line N): ... in path`)."""


def front_matter(data: bytes) -> tuple[dict[str, Any], bytes] | None:
    """(front matter, rest) when the file starts with a `---` block; invalid YAML counts as empty, as Jekyll
    only warns about it."""
    match = _FRONT_MATTER.match(data)
    if match is None:
        return None
    try:
        parsed = yaml.safe_load(match.group(1) or b"") or {}
    except yaml.YAMLError:
        parsed = {}
    return (parsed if isinstance(parsed, dict) else {}), data[match.end():]


def excluded(path: str) -> bool:
    return any(path == e or (e.endswith("/") and path.startswith(e)) for e in EXCLUDED)


def _output_path(path: str, folder_has_index: bool) -> str:
    folder, _, name = path.rpartition("/")
    stem = name.rsplit(".", 1)[0]
    if stem.lower() == "readme" and not folder_has_index:
        stem = "index"
    return f"{folder}/{stem}.html" if folder else f"{stem}.html"


def _page(path: str, data: bytes, base_url: str, is_markdown: bool) -> bytes:
    matter = front_matter(data)
    variables, body = matter if matter is not None else ({}, data)
    text = body.decode("utf-8", "replace")
    title = variables.get("title") or (markdown.first_heading(text) if is_markdown else None)
    page = {**variables, "title": title, "path": path, "name": path.rpartition("/")[2]}
    try:
        rendered = liquid.render(text, {"page": page, "site": {"baseurl": base_url}}, base_url)
    except liquid.LiquidError as exc:
        raise BuildError(f"{exc} in {path}") from None
    if not is_markdown:
        return rendered.encode()
    return LAYOUT.format(title=html.escape(str(title or "")), content=markdown.render(rendered)).encode()


def build(files: list[Entry], read: Callable[[str], bytes], base_url: str = "") -> list[Output]:
    """The site Jekyll writes for `files` (the published folder, hidden paths already left out)."""
    folders_with_index = {p.rpartition("/")[0] for p, _, _ in files
                          if p.rpartition("/")[2].lower() in ("index.html", "index.md", "index.markdown")}
    out: list[Output] = []
    for path, mode, sha in files:
        if excluded(path):
            continue
        is_markdown = path.lower().endswith(MARKDOWN_EXTENSIONS)
        data = read(sha) if is_markdown or mode != 0o120000 else b""
        if is_markdown:
            has_index = path.rpartition("/")[0] in folders_with_index
            out.append((_output_path(path, has_index), 0o100644, _page(path, data, base_url, True)))
        elif front_matter(data) is not None:
            out.append((path, mode, _page(path, data, base_url, False)))
        else:
            out.append((path, mode, sha))
    return out
