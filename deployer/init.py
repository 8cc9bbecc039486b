"""`deployer init [DIR]`: give another repository a workflow that runs this action on each brief.

The workflow is a data file (templates/deploy-pages-brief.yml) with the action's owner and tag filled in; it is
linted with the same checks as our own workflows before it is written, and the `gh secret set` lines it needs are
printed, never the secrets themselves.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from importlib import resources
from pathlib import Path

from deployer import ACTION_MAJOR_TAG
from deployer.workflow_lint import LintUnavailable, lint_workflow

WORKFLOW_PATH = Path(".github") / "workflows" / "deploy-pages-brief.yml"
PLACEHOLDER_OWNER = "OWNER"
# GitHub's rules: a login is 1-39 alphanumerics or single hyphens, not starting or ending with a hyphen.
_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
_TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$")
_GITHUB_REMOTE = re.compile(r"github\.com[:/](?P<repo>[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+?)(?:\.git)?/?$")
SECRETS = (
    ("DEPLOYER_GITHUB_TOKEN", "a PAT that may create public repositories and enable Pages (repo scope; "
                              "workflow too if briefs ask for CI)"),
    ("OPENROUTER_API_KEY", "your OpenRouter API key"),
)
OPTIONAL_SECRETS = (("OPENROUTER_BASE_URL", "only for an OpenRouter-compatible proxy"),)


class InitError(Exception):
    """A reason to write nothing; the message is the one line the user sees."""


def render_workflow(owner: str, tag: str = ACTION_MAJOR_TAG) -> str:
    if owner != PLACEHOLDER_OWNER and not _LOGIN.match(owner):
        raise InitError(f"--owner {owner!r} is not a GitHub user or organization name")
    if not _TAG.match(tag) or ".." in tag:
        raise InitError(f"--ref {tag!r} is not a tag, branch or commit SHA")
    template = resources.files("deployer").joinpath("templates/deploy-pages-brief.yml").read_text()
    return template.replace("__OWNER__", owner).replace("__TAG__", tag)


def github_repo(remote_url: str) -> str | None:
    """`owner/name` of a github.com remote URL (https or ssh), else None."""
    match = _GITHUB_REMOTE.search(remote_url.strip())
    return match["repo"] if match else None


def secret_commands(repo: str | None) -> list[str]:
    where = f" --repo {repo}" if repo else ""
    lines = [f"gh secret set {name}{where}   # {why}" for name, why in SECRETS]
    lines += [f"gh secret set {name}{where}   # optional: {why}" for name, why in OPTIONAL_SECRETS]
    return lines


def origin_repo(directory: Path) -> str | None:
    done = subprocess.run(["git", "-C", str(directory), "remote", "get-url", "origin"], capture_output=True,
                          text=True, timeout=30, check=False)
    return github_repo(done.stdout) if done.returncode == 0 else None


def lint_text(text: str) -> list[str]:
    """Lint the exact bytes about to be written (raises LintUnavailable without the tools)."""
    with tempfile.TemporaryDirectory(prefix="deployer-init-") as tmp:
        path = Path(tmp) / WORKFLOW_PATH.name
        path.write_text(text)
        return [problem.replace(str(path), str(WORKFLOW_PATH)) for problem in lint_workflow(path)]


def write_workflow(directory: Path, owner: str, tag: str, force: bool) -> tuple[Path, str | None]:
    """Write the workflow; (its path, why it was not linted or None)."""
    if not directory.exists():
        raise InitError(f"{directory} does not exist")
    if not directory.is_dir():
        raise InitError(f"{directory} is not a directory")
    target = directory / WORKFLOW_PATH
    if target.exists() and not force:
        raise InitError(f"{target} already exists; run again with --force to overwrite it")
    text = render_workflow(owner, tag)
    unlinted = None
    try:
        problems = lint_text(text)
    except LintUnavailable as exc:
        unlinted = str(exc)
    else:
        if problems:
            raise InitError("the workflow does not pass actionlint / the workflow schema:\n  " + "\n  ".join(problems))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    return target, unlinted


def main(args: argparse.Namespace) -> int:
    directory = Path(args.dir)
    try:
        target, unlinted = write_workflow(directory, args.owner, args.ref, args.force)
    except InitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {target}")
    if unlinted:
        print(f"warning: not validated ({unlinted})", file=sys.stderr)
    steps = []
    if args.owner == PLACEHOLDER_OWNER:
        steps.append(f"Replace {PLACEHOLDER_OWNER} in `uses: {PLACEHOLDER_OWNER}/llm-pages-deployer@{args.ref}` with "
                     "the account that publishes llm-pages-deployer (or run again with --owner NAME --force).")
    repo = origin_repo(directory)
    steps.append("Set the secrets (gh asks for each value; nothing lands in your shell history):"
                 + ("" if repo else f" run these inside {directory}"))
    print("\nnext:")
    for number, step in enumerate(steps, 1):
        print(f"  {number}. {step}")
    for line in secret_commands(repo):
        print(f"       {line}")
    print(f"  {len(steps) + 1}. Commit and push {WORKFLOW_PATH}; then send a brief (repository_dispatch "
          "deploy-brief) or paste one under Actions > Deploy pages brief > Run workflow.")
    return 0
