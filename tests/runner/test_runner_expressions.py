"""The expression evaluator against GitHub's documented semantics (README "Expressions")."""

from __future__ import annotations

import functools
import hashlib
import re
from pathlib import Path
from typing import Any

import pytest

from sandbox.runner.expressions import CaseSensitive, Evaluator, ExpressionError, split_template, to_str
from sandbox.runner.hashfiles import hash_files

CONTEXTS: dict[str, Any] = {
    "github": {
        "event_name": "repository_dispatch",
        "repository": "octo/site",
        "event": {"client_payload": {"brief": {"task": "t1", "round": 2}}, "labels": [{"name": "a"}, {"name": "b"}]},
    },
    "env": CaseSensitive({"NAME": "value"}),
    "steps": {"build": {"outputs": {"url": "https://x/"}, "outcome": "success"}},
    "inputs": {"flag": True, "brief": ""},
}


def ev(status: str | None = None) -> Evaluator:
    return Evaluator(CONTEXTS, status)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        # literals
        ("true", True),
        ("false", False),
        ("null", None),
        ("711", 711.0),
        ("-9.2", -9.2),
        ("0xff", 255.0),
        ("-2.99e-2", -0.0299),
        ("'Mona the Octocat'", "Mona the Octocat"),
        ("'It''s open source!'", "It's open source!"),
        # case-insensitive comparison and loose equality
        ("'abc' == 'ABC'", True),
        ("'abc' != 'ABD'", True),
        ("1 == '1'", True),
        ("'' == 0", True),
        ("null == 0", True),
        ("true == 1", True),
        ("false == '0'", True),
        ("'abc' == 0", False),  # 'abc' -> NaN
        ("fromJSON('{\"a\":1}') == fromJSON('{\"a\":1}')", False),  # objects: the same instance only
        ("'b' > 'A'", True),
        ("'x' < 1", False),  # NaN compares false both ways
        ("'x' >= 1", False),
        ("2 >= 2", True),
        ("!0", True),
        ("!'x'", False),
        # && and || return the deciding operand
        ("null && 'x'", None),
        ("'a' && 'b'", "b"),
        ("'' || 'default'", "default"),
        ("0 || false", False),
        ("inputs.brief || 'fallback'", "fallback"),
        ("github.event_name == 'repository_dispatch' && 'yes' || 'no'", "yes"),
        # contexts, index syntax, missing properties
        ("github.event.client_payload.brief.task", "t1"),
        ("github['event']['client_payload'].brief['round']", 2),
        ("steps.build.outputs.url", "https://x/"),
        ("github.event.labels.*.name", ["a", "b"]),
        ("github.event.labels[1].name", "b"),
        ("github.nope", None),
        ("github.nope.deeper.still", None),
        ("GITHUB.REPOSITORY", "octo/site"),  # context names and their keys ignore case...
        ("env.NAME", "value"),
        ("env.name", None),  # ...except env, which is case-sensitive on Linux
        ("inputs.flag", True),
        # functions (names case-insensitive)
        ("contains('Hello world', 'LLO W')", True),
        ("contains(github.event.labels.*.name, 'B')", True),
        ("contains(fromJSON('[1, 2]'), '2')", True),
        ("startsWith('Hello', 'he')", True),
        ("endsWith('Hello', 'LO')", True),
        ("STARTSWITH('Hello', 'x')", False),
        ("format('{0} {{x}} {1}', 'a', 1)", "a {x} 1"),
        ("join(github.event.labels.*.name, '-')", "a-b"),
        ("join(fromJSON('[1, true, null]'))", "1,true,"),
        ("join('single')", "single"),
        ("toJSON(fromJSON('{\"a\": [1, \"x\"]}'))", '{\n  "a": [\n    1,\n    "x"\n  ]\n}'),
        ("toJSON(github.nope)", "null"),
        ("fromJSON('2.5')", 2.5),
        ("fromJSON('\"x\"') == 'X'", True),
        ("'x' != 0", True),  # NaN is unequal to everything
        ("'0x10' == 16", True),
    ],
)
def test_evaluate(expression: str, expected: Any) -> None:
    assert ev().evaluate(expression) == expected


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("${{ github.nope }}", None),
        ("x-${{ github.nope }}-y", "x--y"),
        ("${{ 1 }} and ${{ true }} and ${{ 1.5 }}", "1 and true and 1.5"),
        ("${{ github.event }}", CONTEXTS["github"]["event"]),
        ("in a string: ${{ github.event }}", "in a string: Object"),
        ("${{ format('{{}}') }}", "{}"),
        ("no expression", "no expression"),
        ("${{ 'a }} b' }}", "a }} b"),
    ],
)
def test_interpolate(template: str, expected: Any) -> None:
    assert ev().interpolate(template) == expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("frobnicate('x')", "unrecognized function 'frobnicate'"),
        ('"double"', "double-quoted strings are not allowed"),
        ("secrets.TOKEN", "unrecognized named-value 'secrets'"),
        ("success()", "only available in 'if:'"),
        ("hashFiles('*.py')", "unrecognized function 'hashFiles' (only available in steps)"),
        ("case(true, 'a', 'b')", "'case' is not supported"),
        ("github.", "expected a property name"),
        ("(1", "expected ')'"),
        ("1 2", "unexpected"),
        ("'unterminated", "unterminated string"),
        ("format('{0}')", "references argument {0}"),
        ("format('{x}', 1)", "format string is invalid"),
        ("contains('a')", "takes 2..2 arguments"),
        ("fromJSON('{not json')", "not valid JSON"),
        ("1 = 1", "unexpected symbol '='"),
        ("", "empty expression"),
    ],
)
def test_errors_are_clear(expression: str, message: str) -> None:
    with pytest.raises(ExpressionError, match="(?i)" + re.escape(message)):
        ev().evaluate(expression)


def test_template_errors() -> None:
    with pytest.raises(ExpressionError, match="unclosed expression"):
        ev().interpolate("echo ${{ github.repository")
    with pytest.raises(ExpressionError, match="not expected here"):
        ev().interpolate_str("${{ github.event }}", "env.X")
    assert split_template("a ${{ b }} c")[1].text == "b"  # type: ignore[union-attr]


def test_depth_limit() -> None:
    with pytest.raises(ExpressionError, match="nested more than 50"):
        ev().evaluate("(" * 60 + "1" + ")" * 60)


@pytest.mark.parametrize(
    ("condition", "status", "expected"),
    [
        (None, "success", True),
        (None, "failure", False),
        ("github.event_name == 'repository_dispatch'", "success", True),
        ("github.event_name == 'repository_dispatch'", "failure", False),  # implicit success() &&
        ("failure()", "failure", True),
        ("failure()", "success", False),
        ("always()", "cancelled", True),
        ("cancelled()", "cancelled", True),
        ("success()", "cancelled", False),
        ("${{ false }}", "success", False),
        ("true && ${{ false }}", "success", True),  # literal text around ${{ }}: a non-empty string
        (False, "success", False),
        ("${{ always() && steps.build.outcome == 'success' }}", "failure", True),
    ],
)
def test_if_conditions(condition: Any, status: str, expected: bool) -> None:
    assert ev(status).condition(condition) is expected


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, ""), (True, "true"), (False, "false"), (3.0, "3"), (3.1, "3.1"), (-0.0, "0"), (1e20, "1E+20"),
     (float("nan"), "NaN"), ({"a": 1}, "Object"), ([1], "Array")],
)
def test_to_string(value: Any, text: str) -> None:
    assert to_str(value) == text


def test_hash_files(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    (workspace / "a").mkdir(parents=True)
    (workspace / "a" / "x.txt").write_text("one")
    (workspace / "a" / "y.txt").write_text("two")
    (workspace / "b.txt").write_text("three")
    (tmp_path / "outside.txt").write_text("not in the workspace")
    evaluator = Evaluator(CONTEXTS, hash_files=functools.partial(hash_files, workspace))

    def expected(*names: str) -> str:
        total = hashlib.sha256()
        for name in sorted(names):
            total.update(hashlib.sha256((workspace / name).read_bytes()).digest())
        return total.hexdigest()

    assert evaluator.evaluate("hashFiles('**/*.txt')") == expected("a/x.txt", "a/y.txt", "b.txt")
    assert evaluator.evaluate("hashFiles('a/*.txt', '!a/y.txt')") == expected("a/x.txt")
    assert evaluator.evaluate("hashFiles('a/x.txt\nb.txt')") == expected("a/x.txt", "b.txt")
    assert evaluator.evaluate("hashFiles('nothing/*.zzz')") == ""
    assert evaluator.evaluate("hashFiles('../*.txt')") == ""  # outside the workspace
    assert evaluator.evaluate(f"hashFiles('{tmp_path}/outside.txt')") == ""
