"""No function in the product (`action/`, `receiver/`, `deployer/`) is over 60 lines: a longer one is split into
named steps. Declarative tables may be longer only when listed below with the reason."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("action", "receiver", "deployer")
MAX_LINES = 60

# "path:function" -> why it may be longer (a declarative table, not logic). Empty today.
ALLOWED: dict[str, str] = {}


def long_functions(source: str, limit: int = MAX_LINES) -> dict[str, int]:
    """Functions (nested ones too, by their own length) longer than `limit`, from `def` to their last line."""
    return {node.name: node.end_lineno - node.lineno + 1 for node in ast.walk(ast.parse(source))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno is not None
            and node.end_lineno - node.lineno + 1 > limit}


def product_long_functions() -> dict[str, int]:
    found: dict[str, int] = {}
    for pkg in PRODUCT:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            for name, lines in long_functions(path.read_text(encoding="utf-8")).items():
                found[f"{path.relative_to(ROOT)}:{name}"] = lines
    return found


def test_no_product_function_is_over_60_lines() -> None:
    over = {name: lines for name, lines in product_long_functions().items() if name not in ALLOWED}
    assert not over, f"over {MAX_LINES} lines (split them, or allow a declarative table with a reason): {over}"


def test_the_allowlist_holds_only_long_tables() -> None:
    stale = sorted(set(ALLOWED) - set(product_long_functions()))
    assert not stale, f"allowed but not over {MAX_LINES} lines (or gone): remove from ALLOWED: {stale}"


def test_the_measure_counts_from_def_to_the_last_line() -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_LINES - 1))
    assert long_functions(f"def fits():\n{body}") == {}
    assert long_functions(f"def over():\n{body}    return x0\n") == {"over": MAX_LINES + 1}
    inner = f"def inner():\n{body}    return x0\n"
    nested = f"def outer():\n{textwrap.indent(inner, '    ')}    return inner\n"
    assert set(long_functions(nested)) == {"outer", "inner"}
