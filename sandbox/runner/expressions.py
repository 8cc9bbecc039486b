"""GitHub Actions expressions (`${{ }}`): a tokenizer, a recursive-descent parser and an evaluator.

Semantics follow the runner's `Expressions2` (actions/runner `src/Sdk/DTExpressions2/`; docs.github.com
"Expressions"): values are null, booleans, numbers (floats), strings, objects and arrays; comparisons ignore case
and coerce mismatched types to numbers; `&&`/`||` return the deciding operand; a missing property is null, which
reads as ''. Anything this evaluator does not know (a function, a named value, a double-quoted string) is an
`ExpressionError`, never ''.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MAX_LENGTH = 21_000
MAX_DEPTH = 50

Value = Any  # None | bool | float | str | dict[str, Value] | list[Value]

STATUS_FUNCTIONS = ("success", "always", "failure", "cancelled")
# name -> (min args, max args); status functions are added only where GitHub allows them (`if:`).
_FUNCTIONS: dict[str, tuple[int, int]] = {
    "contains": (2, 2),
    "startswith": (2, 2),
    "endswith": (2, 2),
    "format": (1, 255),
    "join": (1, 2),
    "tojson": (1, 1),
    "fromjson": (1, 1),
    "hashfiles": (1, 255),
}
_KNOWN_UNSUPPORTED = {"case": "case"}


class ExpressionError(ValueError):
    """An expression GitHub would reject, or one this runner does not support."""


# ---------------------------------------------------------------- values


class CaseSensitive(dict):  # type: ignore[type-arg]
    """An object whose keys match exactly (the `env` context on Linux runners); other objects ignore case."""


class _Filtered(list):  # type: ignore[type-arg]
    """The result of a `*` filter: later property accesses apply to each element."""


def parse_number(text: str) -> float:
    """String -> number as the runner coerces it (JavaScript `Number()`-like): '' is 0, junk is NaN."""
    s = text.strip()
    if not s:
        return 0.0
    if re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", s):
        return float(s)
    if re.fullmatch(r"0x[0-9a-fA-F]+", s):
        n = int(s[2:], 16)
        return float(n) if n < 2**31 else math.nan
    if re.fullmatch(r"0o[0-7]+", s):
        n = int(s[2:], 8)
        return float(n) if n < 2**31 else math.nan
    if s == "Infinity":
        return math.inf
    if s == "-Infinity":
        return -math.inf
    return math.nan


def format_number(x: float) -> str:
    """Number -> string like .NET's `G15` with the invariant culture."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.15g}".replace("e", "E")


def to_str(value: Value) -> str:
    """A value as the runner writes it into a string: null is '', objects are 'Object', arrays 'Array'."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return format_number(float(value))
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return "Object"
    return "Array"


def truthy(value: Value) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return not (value == 0 or math.isnan(value))
    if isinstance(value, str):
        return value != ""
    return True


def _is_primitive(value: Value) -> bool:
    return value is None or isinstance(value, bool | int | float | str)


def to_number(value: Value) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        return parse_number(value)
    return math.nan


def _kind(value: Value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "object" if isinstance(value, Mapping) else "array"


def _coerce(left: Value, right: Value) -> tuple[Value, Value]:
    """Bring mismatched primitives to numbers; objects and arrays stay as they are (and so never match)."""
    lk, rk = _kind(left), _kind(right)
    if lk == rk:
        return left, right
    if lk == "number" and rk == "string":
        return left, parse_number(right)
    if lk == "string" and rk == "number":
        return parse_number(left), right
    if lk in ("boolean", "null"):
        return _coerce(to_number(left), right)
    if rk in ("boolean", "null"):
        return _coerce(left, to_number(right))
    return left, right


def loose_equal(left: Value, right: Value) -> bool:
    left, right = _coerce(left, right)
    kind = _kind(left)
    if kind != _kind(right):
        return False
    if kind == "null":
        return True
    if kind == "number":
        return float(left) == float(right)  # NaN compares unequal by itself
    if kind == "string":
        return str(left).upper() == str(right).upper()
    if kind == "boolean":
        return left is right
    return left is right  # objects and arrays: the same instance only


def _compare(left: Value, right: Value) -> int | None:
    """-1/0/1 after coercion, None when the values cannot be ordered (NaN, objects, mismatched kinds)."""
    left, right = _coerce(left, right)
    kind = _kind(left)
    if kind != _kind(right):
        return None
    if kind == "number":
        a, b = float(left), float(right)
        if math.isnan(a) or math.isnan(b):
            return None
    elif kind == "string":
        a, b = str(left).upper(), str(right).upper()
    elif kind == "boolean":
        a, b = int(left), int(right)
    elif kind == "null":
        return 0
    else:
        return None
    return (a > b) - (a < b)


def to_json(value: Value) -> str:
    """`toJSON`: pretty-printed with two spaces, integral numbers without a fraction."""

    def plain(v: Value) -> Any:
        if isinstance(v, bool) or v is None or isinstance(v, str):
            return v
        if isinstance(v, int | float):
            f = float(v)
            if math.isnan(f) or math.isinf(f):
                return format_number(f)
            return int(f) if f == int(f) and abs(f) < 1e15 else f
        if isinstance(v, Mapping):
            return {str(k): plain(x) for k, x in v.items()}
        return [plain(x) for x in v]

    return json.dumps(plain(value), indent=2, ensure_ascii=False)


def from_json(text: str) -> Value:
    def numbers(v: Any) -> Value:
        if isinstance(v, bool) or v is None or isinstance(v, str):
            return v
        if isinstance(v, int | float):
            return float(v)
        if isinstance(v, dict):
            return {k: numbers(x) for k, x in v.items()}
        return [numbers(x) for x in v]

    try:
        return numbers(json.loads(text))
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ExpressionError(f"fromJSON: the value is not valid JSON ({exc}): {text[:80]!r}") from exc


def _format(fmt: str, args: Sequence[Value]) -> str:
    out: list[str] = []
    i = 0
    while i < len(fmt):
        c = fmt[i]
        if c == "{":
            if fmt.startswith("{{", i):
                out.append("{")
                i += 2
                continue
            m = re.match(r"\{(\d+)\}", fmt[i:])
            if not m:
                raise ExpressionError(f"format: the format string is invalid: {fmt!r}")
            n = int(m.group(1))
            if n >= len(args):
                raise ExpressionError(f"format: {fmt!r} references argument {{{n}}} but only {len(args)} were given")
            out.append(to_str(args[n]))
            i += len(m.group(0))
        elif c == "}":
            if not fmt.startswith("}}", i):
                raise ExpressionError(f"format: the format string is invalid: {fmt!r}")
            out.append("}")
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


# ---------------------------------------------------------------- tokens and syntax tree


@dataclass(frozen=True)
class _Token:
    kind: str  # "num" | "str" | "ident" | "op" | "end"
    value: Any
    pos: int


_NUMBER_TOKEN = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)[eE][+-]?\d+(?![0-9A-Za-z_.])|[+-]?[0-9A-Za-z_.]+")
_OPERATORS = ("<=", ">=", "==", "!=", "&&", "||", "(", ")", "[", "]", ".", ",", "!", "<", ">", "*")


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c == "'":
            j, buf = i + 1, []
            while True:
                if j >= n:
                    raise ExpressionError(f"unterminated string starting at position {i + 1}: {text!r}")
                if text[j] == "'":
                    if j + 1 < n and text[j + 1] == "'":
                        buf.append("'")
                        j += 2
                        continue
                    break
                buf.append(text[j])
                j += 1
            tokens.append(_Token("str", "".join(buf), i))
            i = j + 1
        elif c == '"':
            raise ExpressionError(
                f"double-quoted strings are not allowed in expressions (use single quotes, '' to escape): {text!r}"
            )
        elif c.isdigit() or (c in "+-." and i + 1 < n and (text[i + 1].isdigit() or text[i + 1] == ".")):
            m = _NUMBER_TOKEN.match(text, i)
            assert m is not None
            number = parse_number(m.group(0))
            if math.isnan(number):
                raise ExpressionError(f"unexpected symbol {m.group(0)!r} at position {i + 1}: {text!r}")
            tokens.append(_Token("num", number, i))
            i = m.end()
        elif c.isalpha() or c == "_":
            m = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*").match(text, i)
            assert m is not None
            tokens.append(_Token("ident", m.group(0), i))
            i = m.end()
        else:
            op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
            if op is None:
                raise ExpressionError(f"unexpected symbol {c!r} at position {i + 1}: {text!r}")
            tokens.append(_Token("op", op, i))
            i += len(op)
    tokens.append(_Token("end", None, n))
    return tokens


@dataclass(frozen=True)
class Literal:
    value: Value


@dataclass(frozen=True)
class NamedValue:
    name: str


@dataclass(frozen=True)
class Index:
    target: Node
    key: Node | None  # None: the `*` filter


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class Binary:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Logical:
    op: str  # "&&" | "||"
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Call:
    name: str  # lower-case
    args: tuple[Node, ...]


Node = Literal | NamedValue | Index | Not | Binary | Logical | Call


class _Parser:
    def __init__(self, text: str, named_values: set[str], functions: set[str]):
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0
        self.depth = 0
        self.named_values = named_values
        self.functions = functions

    def error(self, message: str) -> ExpressionError:
        return ExpressionError(f"{message} in expression: {self.text!r}")

    def peek(self) -> _Token:
        return self.tokens[self.pos]

    def take(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def accept(self, op: str) -> bool:
        token = self.peek()
        if token.kind == "op" and token.value == op:
            self.pos += 1
            return True
        return False

    def expect(self, op: str) -> None:
        if not self.accept(op):
            token = self.peek()
            found = "the end" if token.kind == "end" else repr(str(token.value))
            raise self.error(f"expected {op!r} at position {token.pos + 1}, found {found}")

    def nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"nested more than {MAX_DEPTH} levels deep")

    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise self.error("empty expression")
        node = self.logical("||", self.and_)
        token = self.peek()
        if token.kind != "end":
            raise self.error(f"unexpected {str(token.value)!r} at position {token.pos + 1}")
        return node

    def logical(self, op: str, operand: Callable[[], Node]) -> Node:
        items = [operand()]
        while self.accept(op):
            items.append(operand())
        return items[0] if len(items) == 1 else Logical(op, tuple(items))

    def and_(self) -> Node:
        return self.logical("&&", self.equality)

    def equality(self) -> Node:
        node = self.comparison()
        while (token := self.peek()).kind == "op" and token.value in ("==", "!="):
            self.pos += 1
            node = Binary(token.value, node, self.comparison())
        return node

    def comparison(self) -> Node:
        node = self.unary()
        while (token := self.peek()).kind == "op" and token.value in ("<", "<=", ">", ">="):
            self.pos += 1
            node = Binary(token.value, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.accept("!"):
            self.nest()
            node = Not(self.unary())
            self.depth -= 1
            return node
        return self.postfix(self.primary())

    def postfix(self, node: Node) -> Node:
        while True:
            if self.accept("."):
                token = self.take()
                if token.kind == "op" and token.value == "*":
                    node = Index(node, None)
                elif token.kind == "ident":
                    node = Index(node, Literal(token.value))
                else:
                    raise self.error(f"expected a property name after '.' at position {token.pos + 1}")
            elif self.accept("["):
                self.nest()
                node = Index(node, None) if self.accept("*") else Index(node, self.logical("||", self.and_))
                self.expect("]")
                self.depth -= 1
            else:
                return node

    def primary(self) -> Node:
        token = self.take()
        if token.kind in ("num", "str"):
            return Literal(token.value)
        if token.kind == "op" and token.value == "(":
            self.nest()
            node = self.logical("||", self.and_)
            self.expect(")")
            self.depth -= 1
            return node
        if token.kind == "ident":
            name = token.value
            if self.accept("("):
                return self.call(name, token.pos)
            if name in ("true", "false", "null"):
                return Literal({"true": True, "false": False, "null": None}[name])
            if name.lower() not in self.named_values:
                allowed = ", ".join(sorted(self.named_values)) or "none"
                raise self.error(f"unrecognized named-value {name!r} (available here: {allowed})")
            return NamedValue(name.lower())
        found = "the end" if token.kind == "end" else repr(str(token.value))
        raise self.error(f"unexpected {found} at position {token.pos + 1}")

    def call(self, name: str, pos: int) -> Node:
        key = name.lower()
        if key in _KNOWN_UNSUPPORTED:
            raise self.error(f"function {_KNOWN_UNSUPPORTED[key]!r} is not supported by the local runner")
        if key not in self.functions:
            where = (" (status functions are only available in 'if:')" if key in STATUS_FUNCTIONS
                     else " (only available in steps)" if key == "hashfiles" else "")
            raise self.error(f"unrecognized function {name!r}{where}")
        self.nest()
        args: list[Node] = []
        if not self.accept(")"):
            args.append(self.logical("||", self.and_))
            while self.accept(","):
                args.append(self.logical("||", self.and_))
            self.expect(")")
        self.depth -= 1
        low, high = _FUNCTIONS.get(key, (0, 0))
        if not low <= len(args) <= high:
            raise self.error(f"function {name!r} takes {low}..{high} arguments, got {len(args)}")
        return Call(key, tuple(args))


def uses_status_function(node: Node) -> bool:
    if isinstance(node, Call):
        return node.name in STATUS_FUNCTIONS or any(uses_status_function(a) for a in node.args)
    if isinstance(node, Index):
        return uses_status_function(node.target) or (node.key is not None and uses_status_function(node.key))
    if isinstance(node, Not):
        return uses_status_function(node.operand)
    if isinstance(node, Binary):
        return uses_status_function(node.left) or uses_status_function(node.right)
    if isinstance(node, Logical):
        return any(uses_status_function(n) for n in node.operands)
    return False


# ---------------------------------------------------------------- evaluation


def _lookup(target: Value, key: Value) -> Value:
    if isinstance(target, _Filtered):
        out = _Filtered()
        for item in target:
            found = _lookup(item, key)
            if isinstance(found, _Filtered):
                out.extend(found)
            elif found is not None:
                out.append(found)
        return out
    if isinstance(target, Mapping):
        if not _is_primitive(key):
            return None
        name = to_str(key)
        if name in target:
            return target[name]
        if isinstance(target, CaseSensitive):
            return None
        folded = name.upper()
        return next((v for k, v in target.items() if str(k).upper() == folded), None)
    if isinstance(target, list):
        number = to_number(key) if isinstance(key, int | float) else math.nan
        if math.isnan(number) or number != int(number) or not 0 <= number < len(target):
            return None
        return target[int(number)]
    return None


def _wildcard(target: Value) -> Value:
    out = _Filtered()
    items = target if isinstance(target, _Filtered) else [target]
    for item in items:
        if isinstance(item, Mapping):
            out.extend(item.values())
        elif isinstance(item, list):
            out.extend(item)
    return out


class Evaluator:
    """Evaluates expressions against `contexts`; `status` ('success'|'failure'|'cancelled') enables `if:` functions,
    `hash_files` (patterns -> digest, reading the workspace) enables `hashFiles`: both exist only for steps."""

    def __init__(
        self, contexts: Mapping[str, Value], status: str | None = None,
        hash_files: Callable[[list[str]], str] | None = None,
    ):
        self.contexts = {k.lower(): v for k, v in contexts.items()}
        self.status = status
        self.hash_files = hash_files

    def parse(self, expression: str) -> Node:
        if len(expression) > MAX_LENGTH:
            raise ExpressionError(f"expression is longer than {MAX_LENGTH} characters")
        functions = set(_FUNCTIONS) | (set(STATUS_FUNCTIONS) if self.status is not None else set())
        if self.hash_files is None:
            functions.discard("hashfiles")
        return _Parser(expression, set(self.contexts), functions).parse()

    def evaluate(self, expression: str) -> Value:
        value = self.eval(self.parse(expression))
        return list(value) if isinstance(value, _Filtered) else value

    def eval(self, node: Node) -> Value:
        if isinstance(node, Literal):
            return node.value
        if isinstance(node, NamedValue):
            return self.contexts[node.name]
        if isinstance(node, Index):
            target = self.eval(node.target)
            return _wildcard(target) if node.key is None else _lookup(target, self.eval(node.key))
        if isinstance(node, Not):
            return not truthy(self.eval(node.operand))
        if isinstance(node, Logical):
            value: Value = None
            for operand in node.operands:
                value = self.eval(operand)
                if truthy(value) == (node.op == "||"):
                    return value
            return value
        if isinstance(node, Binary):
            left, right = self.eval(node.left), self.eval(node.right)
            if node.op == "==":
                return loose_equal(left, right)
            if node.op == "!=":
                return not loose_equal(left, right)
            order = _compare(left, right)
            if order is None:
                return False
            return {"<": order < 0, "<=": order <= 0, ">": order > 0, ">=": order >= 0}[node.op]
        return self.call(node)

    def call(self, node: Call) -> Value:
        if node.name in STATUS_FUNCTIONS:
            return node.name == "always" or self.status == node.name
        args = [self.eval(a) for a in node.args]
        if node.name == "contains":
            search, item = args
            if _is_primitive(search):
                return to_str(item).upper() in to_str(search).upper()
            if isinstance(search, list):
                return any(loose_equal(element, item) for element in search)
            return False
        if node.name in ("startswith", "endswith"):
            text, part = args
            if not (_is_primitive(text) and _is_primitive(part)):
                return False
            s, p = to_str(text).upper(), to_str(part).upper()
            return s.startswith(p) if node.name == "startswith" else s.endswith(p)
        if node.name == "format":
            return _format(to_str(args[0]), args[1:])
        if node.name == "join":
            separator = to_str(args[1]) if len(args) > 1 else ","
            if isinstance(args[0], list):
                return separator.join(to_str(x) for x in args[0])
            return to_str(args[0]) if _is_primitive(args[0]) else ""
        if node.name == "tojson":
            return to_json(args[0])
        if node.name == "hashfiles":
            assert self.hash_files is not None
            return self.hash_files([to_str(a) for a in args])
        assert node.name == "fromjson"
        return from_json(to_str(args[0]))

    # ---- templates: strings holding `${{ }}`

    def interpolate(self, template: str) -> Value:
        """Evaluate every `${{ }}` in `template`; a template that is exactly one expression keeps its value's type."""
        parts = split_template(template)
        if len(parts) == 1 and isinstance(parts[0], Expression):
            return self.evaluate(parts[0].text)
        return "".join(p if isinstance(p, str) else to_str(self.evaluate(p.text)) for p in parts)

    def interpolate_str(self, template: str, what: str) -> str:
        """`interpolate` for a field that must be a string (env values, inputs, scripts)."""
        value = self.interpolate(template)
        if isinstance(value, Mapping | list):
            raise ExpressionError(f"{what}: a {_kind(value)} was not expected here (use toJSON): {template!r}")
        return to_str(value)

    def condition(self, raw: Value) -> bool:
        """Evaluate an `if:`; without a status function it means `success() && (<condition>)`."""
        if raw is None or raw == "":
            node: Node = Call("success", ())
        elif isinstance(raw, bool):
            node = Literal(raw)
        elif isinstance(raw, int | float):
            node = Literal(float(raw))
        elif isinstance(raw, str):
            text = raw.strip()
            parts = split_template(text)
            if len(parts) == 1 and isinstance(parts[0], Expression):
                node = self.parse(parts[0].text)
            elif any(isinstance(p, Expression) for p in parts):
                node = Literal(self.interpolate(text))  # literal text around `${{ }}`: a (truthy) string
            else:
                node = self.parse(text)
        else:
            raise ExpressionError(f"if: expected an expression, got a {_kind(raw)}")
        if not uses_status_function(node):
            node = Logical("&&", (Call("success", ()), node))
        return truthy(self.eval(node))


@dataclass(frozen=True)
class Expression:
    text: str


def split_template(template: str) -> list[str | Expression]:
    """Split a string into literal text and `${{ }}` expressions; `}}` inside a quoted string does not close."""
    parts: list[str | Expression] = []
    i = 0
    while True:
        start = template.find("${{", i)
        if start < 0:
            if i < len(template) or not parts:
                parts.append(template[i:])
            return parts
        if start > i:
            parts.append(template[i:start])
        j, quoted = start + 3, False
        while True:
            if j >= len(template):
                raise ExpressionError(f"unclosed expression (missing '}}}}'): {template[start:start + 60]!r}")
            if template[j] == "'":
                quoted = not quoted
            elif not quoted and template.startswith("}}", j):
                break
            j += 1
        text = template[start + 3 : j].strip()
        if not text:
            raise ExpressionError(f"empty expression: {template[start:j + 2]!r}")
        parts.append(Expression(text))
        i = j + 2
