"""`hashFiles(...)`: the digest GitHub's runner computes over files of the workspace (its I/O half; the expression
evaluator only calls it)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path


def hash_files(workspace: Path, patterns: Sequence[str]) -> str:
    """`hashFiles`: SHA-256 over the SHA-256 of each matching file under the workspace ('' when none match);
    a pattern starting with `!` excludes, and one argument may hold several patterns on separate lines."""
    root = workspace.resolve()
    lines = [line.strip() for p in patterns for line in p.splitlines() if line.strip()]
    found: set[Path] = set()
    for line in lines:
        exclude = line.startswith("!")
        pattern = line[1:] if exclude else line
        if Path(pattern).is_absolute():
            if not Path(pattern).is_relative_to(root):
                continue
            pattern = str(Path(pattern).relative_to(root))
        matches = {p.resolve() for p in root.glob(pattern) if p.is_file()}
        found = found - matches if exclude else found | {p for p in matches if p.is_relative_to(root)}
    if not found:
        return ""
    total = hashlib.sha256()
    for path in sorted(found):
        total.update(hashlib.sha256(path.read_bytes()).digest())
    return total.hexdigest()
