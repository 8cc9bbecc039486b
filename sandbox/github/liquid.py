"""A small, faithful subset of Liquid 4 as Jekyll runs it on GitHub Pages (lax mode): tokenizing and parse
errors exactly as Liquid raises them, so a page that fails GitHub's build fails here with the same words.

Parsed as Liquid does: `{{ ... }}` and `{% ... %}` anywhere in the text, code blocks included (potatolondon/
djangae#803); an unterminated `{{` or a `{%` without a tag name is a syntax error (google/syzkaller#5089,
sanskrit-lexicon/MWS#198), so is an unknown tag (sanskrit-lexicon/CORRECTIONS#413) and a block never closed
(huggingface/trl#5636). Rendered: variables with dotted names and quoted, numeric, true/false/nil literals;
filters upcase, downcase, capitalize, escape, strip, size, default, append, prepend, relative_url, absolute_url
(any other filter leaves its input unchanged, as lax Liquid does with filters it does not know); tags raw,
comment, assign, capture, if/elsif/else, unless, case/when, for (over lists), highlight, and Jekyll's no-output
tags seo, feed_meta. Not rendered: include/include_relative (a build error here), cycle, tablerow, ranges, for
parameters (limit, offset, reversed), forloop variables.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_TOKENS = re.compile(r"(\{%.*?%\}|\{\{.*?\}\}?|\{\{|\{%)", re.S)
_TAG = re.compile(r"\A\{%-?(\s*)(\w+)(\s*)(.*?)-?%\}\Z", re.S)
_ENDS_IN_TAG = re.compile(r"\A(.*)\{%-?\s*(\w+)\s*(.*)?-?%\}\Z", re.S)  # Liquid's FullTokenPossiblyInvalid
_VARIABLE = re.compile(r"\A\{\{-?(.*?)-?\}\}\Z", re.S)
_FRAGMENT = re.compile(r"\"[^\"]*\"|'[^']*'|[^\s,|'\"]+")
BLOCKS = {"if": "endif", "unless": "endunless", "case": "endcase", "for": "endfor", "capture": "endcapture",
          "comment": "endcomment", "highlight": "endhighlight"}
BRANCHES = {"if": {"elsif", "else"}, "unless": {"elsif", "else"}, "case": {"when", "else"}, "for": {"else"}}
SIMPLE = {"assign", "seo", "feed_meta", "include", "include_relative"}


class LiquidError(Exception):
    """Why Liquid (or Jekyll's tags) stopped the build, worded as they word it."""


def syntax_error(line: int, detail: str) -> LiquidError:
    return LiquidError(f"Liquid syntax error (line {line}): {detail}")


@dataclass
class Node:
    kind: str  # "text", "var", a tag name
    markup: str
    line: int
    branches: list[tuple[str, str, list[Node]]] = field(default_factory=list)  # (tag, markup, body)


def tokenize(source: str) -> list[tuple[str, int]]:
    """(token, line) pairs: text, and `{{`/`{%` tokens as Liquid's tokenizer cuts them."""
    tokens, line = [], 1
    for piece in _TOKENS.split(source):
        if piece:
            tokens.append((piece, line))
            line += piece.count("\n")
    return tokens


def _whitespace_control(tokens: list[tuple[str, int]]) -> list[tuple[str, int]]:
    out = list(tokens)
    for i, (token, _) in enumerate(out):
        if token.startswith(("{{-", "{%-")) and i and not out[i - 1][0].startswith(("{{", "{%")):
            out[i - 1] = (out[i - 1][0].rstrip(), out[i - 1][1])
        if token.endswith(("-}}", "-%}")) and i + 1 < len(out) and not out[i + 1][0].startswith(("{{", "{%")):
            out[i + 1] = (out[i + 1][0].lstrip(), out[i + 1][1])
    return out


def parse(source: str) -> list[Node]:
    """The template's nodes; LiquidError for what Liquid refuses."""
    tokens = _whitespace_control(tokenize(source))
    body, end, _ = _parse_body(tokens, 0, None, False)
    assert end == len(tokens)
    return body


def _parse_body(tokens: list[tuple[str, int]], i: int, block: str | None,
                lenient: bool) -> tuple[list[Node], int, tuple[str, str, int] | None]:
    """Nodes until the tag that ends or branches `block`: (nodes, next index, (tag, markup, line) of that tag)."""
    nodes: list[Node] = []
    while i < len(tokens):
        token, line = tokens[i]
        i += 1
        if token.startswith("{{"):
            match = _VARIABLE.match(token)
            if match is None:
                raise syntax_error(line, f"Variable '{token}' was not properly terminated with regexp: /\\}}\\}}/")
            nodes.append(Node("var", match.group(1).strip(), line))
        elif token.startswith("{%"):
            match = _TAG.match(token)
            if match is None:
                raise syntax_error(line, f"Tag '{token}' was not properly terminated with regexp: /\\%\\}}/")
            name, markup = match.group(2), match.group(4).strip()
            if block is not None and (name == BLOCKS[block] or name in BRANCHES.get(block, ())):
                return nodes, i, (name, markup, line)
            if name == "raw":
                text, i = _raw(tokens, i)
                nodes.append(Node("text", text, line))
            elif name in BLOCKS:
                node = Node(name, markup, line)
                i = _parse_block(tokens, i, node)
                nodes.append(node)
            elif name in SIMPLE:
                nodes.append(Node(name, markup, line))
            elif not lenient:  # a comment ignores the tags it holds
                raise _unknown(name, block, line)
        else:
            nodes.append(Node("text", token, line))
    if block is not None:
        raise syntax_error(_last_line(tokens), f"'{block}' tag was never closed")
    return nodes, i, None


def _last_line(tokens: list[tuple[str, int]]) -> int:
    """The line Liquid has reached at the end of the template (where it reports a block never closed)."""
    return tokens[-1][1] + tokens[-1][0].count("\n") if tokens else 1


def _unknown(name: str, block: str | None, line: int) -> LiquidError:
    """Liquid 4's words for a tag that has no place here (Block#unknown_tag, Document#unknown_tag)."""
    if block is not None and name in ("else", "elsif", "when"):
        return syntax_error(line, f"{block} tag does not expect '{name}' tag")
    if block is not None and name.startswith("end"):
        return syntax_error(line, f"'{name}' is not a valid delimiter for {block} tags. use {BLOCKS[block]}")
    return syntax_error(line, f"Unknown tag '{name}'")


def _parse_block(tokens: list[tuple[str, int]], i: int, node: Node) -> int:
    tag, markup = node.kind, node.markup
    while True:
        body, i, ender = _parse_body(tokens, i, node.kind, lenient=node.kind == "comment")
        node.branches.append((tag, markup, body))
        assert ender is not None
        tag, markup, _ = ender
        if tag == BLOCKS[node.kind]:
            return i


def _raw(tokens: list[tuple[str, int]], i: int) -> tuple[str, int]:
    text = []
    while i < len(tokens):
        token, _ = tokens[i]
        i += 1
        match = _ENDS_IN_TAG.match(token)
        if match is not None and match.group(2) == "endraw":
            return "".join([*text, match.group(1)]), i
        text.append(token)
    raise syntax_error(_last_line(tokens), "'raw' tag was never closed")


# Rendering -------------------------------------------------------------------------------------------------------

Filter = Callable[..., Any]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "".join(_text(v) for v in value)
    return str(value)


def _filters(base_url: str) -> dict[str, Filter]:
    return {
        "upcase": lambda v: _text(v).upper(), "downcase": lambda v: _text(v).lower(),
        "capitalize": lambda v: _text(v).capitalize(), "escape": lambda v: html.escape(_text(v)),
        "strip": lambda v: _text(v).strip(), "size": lambda v: len(v) if isinstance(v, list | str | dict) else 0,
        "default": lambda v, d="": v if v not in (None, "", False, []) else d,
        "append": lambda v, s="": _text(v) + _text(s), "prepend": lambda v, s="": _text(s) + _text(v),
        "relative_url": lambda v: base_url + "/" + _text(v).lstrip("/"),
        "absolute_url": lambda v: base_url + "/" + _text(v).lstrip("/"),
    }


class Renderer:
    def __init__(self, variables: dict[str, Any], base_url: str = ""):
        self.scope = dict(variables)
        self.filters = _filters(base_url)

    def value(self, fragment: str) -> Any:
        if fragment[:1] in "\"'":
            return fragment[1:-1]
        if re.fullmatch(r"-?\d+", fragment):
            return int(fragment)
        if re.fullmatch(r"-?\d+\.\d+", fragment):
            return float(fragment)
        if fragment in ("true", "false"):
            return fragment == "true"
        if fragment in ("nil", "null", "empty", "blank"):
            return None
        value: Any = self.scope
        for part in re.findall(r"[\w-]+(?:\?)?|\[[^\]]*\]", fragment):
            key = self.value(part[1:-1]) if part.startswith("[") else part
            if isinstance(value, dict):
                value = value.get(key)
            elif isinstance(value, list) and isinstance(key, int) and -len(value) <= key < len(value):
                value = value[key]
            elif isinstance(value, list | str) and key == "size":
                value = len(value)
            else:
                return None
        return value

    def expression(self, markup: str) -> Any:
        """`value | filter: arg, arg | ...`; an unknown filter leaves the value unchanged (lax mode)."""
        head, *chain = markup.split("|")
        fragments = _FRAGMENT.findall(head)
        result = self.value(fragments[0]) if fragments else None
        for part in chain:
            name, _, args = part.partition(":")
            function = self.filters.get(name.strip())
            if function is not None:
                result = function(result, *[self.value(a) for a in _FRAGMENT.findall(args)])
        return result

    def condition(self, markup: str) -> bool:
        for joiner in (" or ", " and "):
            if joiner in markup:
                left, _, right = markup.partition(joiner)
                first, second = self.condition(left), self.condition(right)
                return (first or second) if joiner == " or " else (first and second)
        match = re.fullmatch(r"\s*(.+?)\s*(==|!=|<>|>=|<=|>|<|contains)\s*(.+?)\s*", markup)
        if match is None:
            return self.expression(markup) not in (None, False)
        left, op, right = self.expression(match.group(1)), match.group(2), self.expression(match.group(3))
        if op == "contains":
            return isinstance(left, str | list) and right is not None and _text(right) in left
        if op in ("==", "!=", "<>"):
            return (left == right) == (op == "==")
        try:
            return bool({">": left > right, "<": left < right, ">=": left >= right, "<=": left <= right}[op])
        except TypeError:
            return False

    def render(self, nodes: list[Node]) -> str:
        return "".join(self._node(n) for n in nodes)

    def _node(self, node: Node) -> str:
        if node.kind == "text":
            return node.markup
        if node.kind == "var":
            return _text(self.expression(node.markup))
        if node.kind == "assign":
            name, _, expr = node.markup.partition("=")
            self.scope[name.strip()] = self.expression(expr)
            return ""
        if node.kind == "capture":
            self.scope[node.markup.split()[0] if node.markup else ""] = self.render(node.branches[0][2])
            return ""
        if node.kind in ("if", "unless"):
            for tag, markup, body in node.branches:
                test = tag == "else" or self.condition(markup) != (tag == "unless")
                if test:
                    return self.render(body)
            return ""
        if node.kind == "case":
            subject = self.expression(node.markup)
            for tag, markup, body in node.branches[1:]:
                if tag == "else" or subject in [self.value(v) for v in _FRAGMENT.findall(markup) if v != "or"]:
                    return self.render(body)
            return ""
        if node.kind == "for":
            return self._for(node)
        if node.kind == "highlight":
            return f"<pre><code>{html.escape(self.render(node.branches[0][2]))}</code></pre>"
        if node.kind in ("include", "include_relative"):
            # Jekyll's words; no `_includes` are built here
            name = node.markup.split()[0] if node.markup else ""
            raise LiquidError(f"Could not locate the included file '{name}' in any of [\"_includes\"]. Ensure it "
                              "exists in one of those directories and, if it is a symlink, does not point outside "
                              "your site source.")
        return ""  # comment, seo, feed_meta

    def _for(self, node: Node) -> str:
        name, _, rest = node.markup.partition(" in ")
        items = self.expression(rest.split()[0]) if rest.split() else None
        body = node.branches[0][2]
        if isinstance(items, dict):
            items = list(items.items())
        if not isinstance(items, list) or not items:
            return self.render(node.branches[1][2]) if len(node.branches) > 1 else ""
        out = []
        for item in items:
            self.scope[name.strip()] = item
            out.append(self.render(body))
        return "".join(out)


def render(source: str, variables: dict[str, Any], base_url: str = "") -> str:
    """Parse and render; LiquidError for a syntax error."""
    return Renderer(variables, base_url).render(parse(source))
