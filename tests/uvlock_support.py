"""What uv.lock pins for a set of the project's dependencies, read from the lock itself (not from `uv export`)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.markers import Marker
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "llm-pages-deployer"


def locked_closure(groups: tuple[str, ...] = (), runtime: bool = True) -> dict[str, str]:
    """{name: version} of every package the project's runtime dependencies (and `groups`) pull in on this
    interpreter, extras followed and markers evaluated, as uv.lock resolves them."""
    packages = {p["name"]: p for p in tomllib.loads((ROOT / "uv.lock").read_text())["package"]}
    project = packages[PROJECT]
    todo = [*(project["dependencies"] if runtime else [])]
    for group in groups:
        todo += project["dev-dependencies"][group]
    found: dict[str, str] = {}
    seen: set[tuple[str, tuple[str, ...]]] = set()
    while todo:
        dep = todo.pop()
        name, extras = canonicalize_name(dep["name"]), tuple(dep.get("extra", ()))
        if (name, extras) in seen or ("marker" in dep and not Marker(dep["marker"]).evaluate()):
            continue
        seen.add((name, extras))
        package = packages[name]
        found[name] = package["version"]
        todo += package.get("dependencies", [])
        for extra in extras:
            todo += package.get("optional-dependencies", {}).get(extra, [])
    return found
