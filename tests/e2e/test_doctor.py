"""`deployer doctor` against the sandbox: every check passes on a good configuration and names the fix otherwise."""

from __future__ import annotations

import os
import subprocess
import sys

from sandbox.world import World


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
    for name in ("setting SHARED_SECRET", "github token", "github scopes", "deployer repo", "openrouter key",
                 "receiver"):
        assert any(line.startswith("PASS") and name in line for line in lines), name
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
