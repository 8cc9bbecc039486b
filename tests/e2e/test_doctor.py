"""`deployer doctor` against the sandbox: every check passes on a good configuration and names the fix otherwise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import requests

from deployer.doctor import check_github, run_checks, statuses_check
from deployer.models import DEFAULT_FALLBACKS, DEFAULT_MODEL
from sandbox.world import World
from tests.conftest import Services, start_github


def doctor(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/")}
    return subprocess.run([sys.executable, "-m", "deployer", "doctor"], env={**base, **env}, capture_output=True,
                          text=True, timeout=60)


def good_env(w: World) -> dict[str, str]:
    return {
        "SHARED_SECRET": w.shared_secret, "GITHUB_TOKEN": w.token, "DEPLOYER_REPO": w.deployer_repo,
        "GITHUB_API_URL": w.api_url, "OPENROUTER_API_KEY": w.openrouter_key, "OPENROUTER_BASE_URL": w.openrouter_url,
        "PUBLIC_URL": w.receiver_url,
    }


def test_a_good_configuration_passes_every_check(world: World) -> None:
    done = doctor(good_env(world))
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    for name in ("setting SHARED_SECRET", "github token", "github scopes", "commit statuses", "deployer repo",
                 "openrouter key", "openrouter models", "openrouter credit", "receiver"):
        assert any(line.startswith("PASS") and name in line for line in lines), name
    assert f"a run uses {DEFAULT_MODEL}, then {', then '.join(DEFAULT_FALLBACKS)}" in done.stdout
    assert f"user {world.user}" in done.stdout and "workflow" in done.stdout
    for value in world.secret_values.values():
        assert value not in done.stdout + done.stderr


def test_each_broken_setting_fails_with_its_fix(world: World) -> None:
    env = {**good_env(world), "OPENROUTER_API_KEY": "sk-or-v1-wrong", "DEPLOYER_REPO": f"{world.user}/nope",
           "PUBLIC_URL": "http://127.0.0.1:9"}
    env.pop("SHARED_SECRET")
    done = doctor(env)
    assert done.returncode == 1
    failed = [line for line in done.stdout.splitlines() if line.startswith("FAIL")]
    for name in ("setting SHARED_SECRET", "deployer repo", "openrouter key", "receiver"):
        assert any(name in line for line in failed), (name, done.stdout)
    assert len(failed) == 4, done.stdout
    assert "fix:" in done.stdout and "not ready" in done.stdout

    wrong_token = doctor({**good_env(world), "GITHUB_TOKEN": "ghp_" + "0" * 36})
    assert wrong_token.returncode == 1 and "GET /user answered 401" in wrong_token.stdout


def test_the_model_check_names_the_model_a_run_uses_and_the_ones_it_skips(world: World) -> None:
    retired = doctor({**good_env(world), "DEPLOYER_MODEL": "anthropic/claude-sonnet-4",
                      "DEPLOYER_FALLBACK_MODELS": "nobody/typo-1,openai/gpt-5.4-mini"})
    assert retired.returncode == 0, retired.stdout  # a warning: runs still have a model
    [line] = [x for x in retired.stdout.splitlines() if "openrouter models" in x]
    assert line.startswith("WARN") and "a run uses openai/gpt-5.4-mini" in line
    assert "anthropic/claude-sonnet-4 is not in OpenRouter's model list" in line and "nobody/typo-1 is" in line

    none = doctor({**good_env(world), "DEPLOYER_MODEL": "anthropic/claude-sonnet-4", "DEPLOYER_FALLBACK_MODELS": ""})
    assert none.returncode == 1
    assert "FAIL  openrouter models" in none.stdout and "none of anthropic/claude-sonnet-4" in none.stdout
    assert "fix: set DEPLOYER_MODEL" in none.stdout


def test_a_key_whose_credit_cannot_pay_one_answer_is_a_warning_with_the_figures(world: World) -> None:
    account = f"{world.openrouter_url.removesuffix('/api/v1')}/_sandbox/credits"
    requests.post(account, json={"credits": 0.06}, timeout=10).raise_for_status()
    try:
        done = doctor(good_env(world))
    finally:
        requests.post(account, json={"credits": 1000}, timeout=10).raise_for_status()
    assert done.returncode == 0, done.stdout
    assert "valid (limit $0.06, $0.06 left)" in done.stdout
    [line] = [x for x in done.stdout.splitlines() if "openrouter credit" in x]
    assert line.startswith("WARN") and f"$0.06 left affords about 4000 answer tokens on {DEFAULT_MODEL}" in line


def test_a_token_without_the_workflow_scope_is_named_before_going_live(services: Services, tmp_path: Path) -> None:
    github = start_github(services, tmp_path / "gh", "--scopes", "repo")
    checks = {c.name: c for c in check_github(github.url, github.token, None)}
    assert checks["github scopes"].ok and checks["workflow scope"].warning
    assert "404" in checks["workflow scope"].detail and "`workflow` scope" in checks["workflow scope"].fix
    assert "WARN" in checks["workflow scope"].line()
    out: list[str] = []
    run_checks({"GITHUB_TOKEN": github.token, "GITHUB_API_URL": github.url}, None, out.append)
    assert any(line.startswith("WARN  public url") for line in out)
    assert out[-1].startswith("PASS  pages cdn") and "10 minutes" in out[-1]


def test_the_statuses_check_names_the_scope_that_lets_a_run_record_its_notification() -> None:
    for scopes, granting in (({"repo", "workflow"}, "repo"), ({"public_repo"}, "public_repo"),
                             ({"repo:status", "workflow"}, "repo:status")):
        check = statuses_check(scopes)
        assert check.ok and not check.warning and f"writable ({granting})" in check.line()
    missing = statuses_check({"workflow", "gist"})
    assert missing.ok and missing.warning  # the notification still goes out, maybe twice: a warning, not a failure
    assert missing.line().startswith("WARN  commit statuses") and "may notify the evaluator again" in missing.line()
    assert "fix: add the `repo` (or `repo:status`) scope" in missing.line()
