"""A small subset of kramdown's GFM Markdown, as GitHub Pages' Jekyll renders it: enough to show what a page
becomes once built (a README is HTML, no longer Markdown), not a full renderer.

Rendered: ATX headings (with kramdown's automatic ids), paragraphs, fenced code blocks (Rouge's wrapper when a
language is named), `-`/`*`/`+` and `1.` lists (one level), block quotes, horizontal rules, HTML blocks passed
through; inline code, strong/emphasis, links, images and `<url>` autolinks; links to `.md` files point at the
`.html` page (jekyll-relative-links). Not rendered (left as paragraph text): tables, setext headings, nested lists,
footnotes, definition lists, attribute lists, reference-style links.
"""

from __future__ import annotations

import html
import re

_FENCE = re.compile(r"^(```+|~~~+)\s*([\w+-]*)\s*$")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_RULE = re.compile(r"^ {0,3}([-*_])( *\1){2,} *$")
_BULLET = re.compile(r"^ {0,3}[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^ {0,3}\d+[.)]\s+(.*)$")
_HTML_BLOCK = re.compile(r"^ {0,3}</?[A-Za-z][\w-]*[\s/>]|^ {0,3}<!--")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)
_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]*)(?:\s+\"([^\"]*)\")?\)")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]*)(?:\s+\"([^\"]*)\")?\)")
_AUTOLINK = re.compile(r"<((?:https?|mailto):[^>\s]+)>")
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_EM = re.compile(r"(?<![\w*])([*_])(?=\S)(.+?)(?<=\S)\1(?![\w*])")


def heading_id(text: str) -> str:
    """kramdown's auto id: lower case, markup and punctuation dropped, spaces become dashes."""
    plain = re.sub(r"<[^>]+>", "", text).lower()
    plain = re.sub(r"[^\w\s-]", "", plain)
    return re.sub(r"\s+", "-", plain.strip()) or "section"


def _href(url: str) -> str:
    if not re.match(r"^[a-z]+:|^/|^#", url) and re.search(r"\.(md|markdown)(#.*)?$", url):
        url = re.sub(r"\.(md|markdown)(?=#|$)", ".html", url)
    return html.escape(url, quote=True)


def inline(text: str) -> str:
    """Inline markup of one block; code spans first, so nothing inside them is touched."""
    spans: list[str] = []

    def keep(rendered: str) -> str:
        spans.append(rendered)
        return f"\x00{len(spans) - 1}\x00"

    text = _CODE_SPAN.sub(lambda m: keep('<code class="language-plaintext highlighter-rouge">'
                                         f"{html.escape(m.group(2).strip())}</code>"), text)
    text = _IMAGE.sub(lambda m: keep(f'<img src="{_href(m.group(2))}" alt="{html.escape(m.group(1))}"'
                                     + (f' title="{html.escape(m.group(3))}"' if m.group(3) else "") + " />"), text)
    text = _LINK.sub(lambda m: keep(f'<a href="{_href(m.group(2))}"'
                                    + (f' title="{html.escape(m.group(3))}"' if m.group(3) else "")
                                    + f">{m.group(1)}</a>"), text)
    text = _AUTOLINK.sub(lambda m: keep(f'<a href="{_href(m.group(1))}">{html.escape(m.group(1))}</a>'), text)
    text = _STRONG.sub(r"<strong>\2</strong>", text)
    text = _EM.sub(r"<em>\2</em>", text)
    return re.sub(r"\x00(\d+)\x00", lambda m: spans[int(m.group(1))], text)


def first_heading(source: str) -> str | None:
    """The text of the first heading (jekyll-titles-from-headings takes the page title from it)."""
    for line in source.splitlines():
        match = _HEADING.match(line)
        if match:
            return re.sub(r"[*_`]", "", match.group(2)).strip()
    return None


def render(source: str) -> str:
    lines = source.replace("\r\n", "\n").split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line)
        if fence:
            i = _code_block(lines, i + 1, fence.group(1), fence.group(2), out)
        elif not line.strip():
            i += 1
        elif heading := _HEADING.match(line):
            level, text = len(heading.group(1)), heading.group(2)
            out.append(f'<h{level} id="{heading_id(text)}">{inline(text)}</h{level}>')
            i += 1
        elif _RULE.match(line):
            out.append("<hr />")
            i += 1
        elif _BULLET.match(line) or _NUMBERED.match(line):
            i = _list(lines, i, out)
        elif line.lstrip().startswith(">"):
            quoted = []
            while i < len(lines) and lines[i].lstrip().startswith(">"):
                quoted.append(lines[i].lstrip()[1:].removeprefix(" "))
                i += 1
            out.append(f"<blockquote>\n{render(chr(10).join(quoted))}</blockquote>")
        elif _HTML_BLOCK.match(line):
            start = i
            while i < len(lines) and lines[i].strip():
                i += 1
            out.append("\n".join(lines[start:i]))
        else:
            start = i
            while i < len(lines) and lines[i].strip() and not _starts_block(lines[i]):
                i += 1
            out.append(f"<p>{inline(chr(10).join(lines[start:i]))}</p>")
    return "\n\n".join(out) + "\n"


def _starts_block(line: str) -> bool:
    return bool(_FENCE.match(line) or _HEADING.match(line) or _RULE.match(line) or _BULLET.match(line)
                or line.lstrip().startswith(">"))


def _code_block(lines: list[str], i: int, marker: str, language: str, out: list[str]) -> int:
    body = []
    while i < len(lines) and not lines[i].startswith(marker[0] * len(marker)):
        body.append(lines[i])
        i += 1
    code = html.escape("\n".join(body) + "\n")
    if language:
        out.append(f'<div class="language-{language} highlighter-rouge"><div class="highlight">'
                   f'<pre class="highlight"><code>{code}</code></pre></div></div>')
    else:
        out.append(f"<pre><code>{code}</code></pre>")
    return i + 1


def _list(lines: list[str], i: int, out: list[str]) -> int:
    numbered = bool(_NUMBERED.match(lines[i]))
    pattern = _NUMBERED if numbered else _BULLET
    items: list[str] = []
    while i < len(lines):
        match = pattern.match(lines[i])
        if match:
            items.append(match.group(1))
        elif lines[i].strip() and items and lines[i].startswith((" ", "\t")):
            items[-1] += "\n" + lines[i].strip()  # a continuation line of the item
        else:
            break
        i += 1
    tag = "ol" if numbered else "ul"
    out.append(f"<{tag}>\n" + "\n".join(f"  <li>{inline(item)}</li>" for item in items) + f"\n</{tag}>")
    return i
