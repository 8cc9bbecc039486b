"""`deployer init`: the consumer workflow it writes, what it refuses, and the next steps it prints."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from deployer.init import github_repo, secret_commands
from deployer.workflow_lint import lint_workflow

WORKFLOW = Path(".github") / "workflows" / "deploy-pages-brief.yml"


def init(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "deployer", "init", *args], capture_output=True, text=True,
                          timeout=180, cwd=cwd)


def test_an_empty_directory_gets_a_lint_clean_workflow_and_the_secret_commands(tmp_path: Path) -> None:
    done = init(str(tmp_path), "--owner", "octo-org")

    assert done.returncode == 0, done.stderr
    written = tmp_path / WORKFLOW
    assert lint_workflow(written) == []
    wf = yaml.safe_load(written.read_text())
    on = wf[True]  # PyYAML reads the key `on` as a boolean
    assert on["repository_dispatch"]["types"] == ["deploy-brief"]
    assert on["workflow_dispatch"]["inputs"]["brief"]["required"] is True
    assert wf["permissions"] == {"contents": "read"}
    assert "task" in wf["concurrency"]["group"] and wf["concurrency"]["cancel-in-progress"] is False
    job = wf["jobs"]["deploy"]
    assert 0 < job["timeout-minutes"] <= 30
    deploy, summary = job["steps"]  # no checkout: the action needs nothing from the caller's repository
    assert deploy["id"] == "deploy" and deploy["uses"] == "octo-org/llm-pages-deployer@v1"
    assert deploy["with"]["github-token"] == "${{ secrets.DEPLOYER_GITHUB_TOKEN }}"
    assert deploy["with"]["openrouter-api-key"] == "${{ secrets.OPENROUTER_API_KEY }}"
    assert summary["env"]["PAGES_URL"] == "${{ steps.deploy.outputs.pages-url }}"
    assert "$GITHUB_STEP_SUMMARY" in summary["run"]
    assert f"wrote {written}" in done.stdout
    assert "gh secret set DEPLOYER_GITHUB_TOKEN" in done.stdout and "gh secret set OPENROUTER_API_KEY" in done.stdout
    assert "Replace OWNER" not in done.stdout


def test_the_default_owner_is_a_placeholder_the_user_is_told_to_replace(tmp_path: Path) -> None:
    done = init(cwd=tmp_path)  # DIR defaults to the current directory

    assert done.returncode == 0, done.stderr
    assert "uses: OWNER/llm-pages-deployer@v1" in (tmp_path / WORKFLOW).read_text()
    assert "1. Replace OWNER" in done.stdout


def test_an_existing_workflow_is_refused_and_force_overwrites_it(tmp_path: Path) -> None:
    written = tmp_path / WORKFLOW
    written.parent.mkdir(parents=True)
    written.write_text("mine\n")

    refused = init(str(tmp_path), "--owner", "octo")
    assert refused.returncode == 1
    assert "already exists; run again with --force" in refused.stderr
    assert written.read_text() == "mine\n"

    forced = init(str(tmp_path), "--owner", "octo", "--ref", "v1.0.0", "--force")
    assert forced.returncode == 0, forced.stderr
    assert "uses: octo/llm-pages-deployer@v1.0.0" in written.read_text()


def test_a_file_a_missing_directory_and_a_bad_owner_are_clear_errors(tmp_path: Path) -> None:
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    for args, message in (
        ([str(a_file)], f"{a_file} is not a directory"),
        ([str(tmp_path / "missing")], f"{tmp_path / 'missing'} does not exist"),
        ([str(tmp_path), "--owner=-bad-"], "'-bad-' is not a GitHub user or organization name"),
        ([str(tmp_path), "--owner", "octo", "--ref", "v1 x"], "'v1 x' is not a tag"),
    ):
        done = init(*args)
        assert done.returncode == 1, args
        assert message in done.stderr and done.stderr.startswith("error: ") and "Traceback" not in done.stderr
    assert not (tmp_path / ".github").exists()  # nothing written


def test_secret_commands_name_the_repository_when_origin_is_on_github() -> None:
    for url in ("https://github.com/octo/site.git", "git@github.com:octo/site.git", "https://github.com/octo/site"):
        assert github_repo(url) == "octo/site", url
    assert github_repo("https://gitlab.com/octo/site.git") is None
    assert secret_commands("octo/site")[0].startswith("gh secret set DEPLOYER_GITHUB_TOKEN --repo octo/site   # ")
    assert [line.split("   # ")[0] for line in secret_commands(None)] == [
        "gh secret set DEPLOYER_GITHUB_TOKEN", "gh secret set OPENROUTER_API_KEY", "gh secret set OPENROUTER_BASE_URL"]
