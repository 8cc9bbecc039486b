"""The action's install step on a runner without uv: a Python older than 3.11 is one clear error, not pip's."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_an_old_python_on_the_runner_is_named_in_one_error(tmp_path: Path) -> None:
    install = yaml.safe_load((ROOT / "action.yml").read_text())["runs"]["steps"][0]
    assert "$GITHUB_ACTION_PATH" in install["run"]  # installs from the action's own directory, not the caller's
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "python3"  # a runner image whose python3 is 3.10
    fake.write_text('#!/bin/sh\n[ "$1" = "--version" ] && { echo "Python 3.10.12"; exit 0; }\nexit 1\n')
    fake.chmod(0o755)
    script = tmp_path / "install.sh"
    script.write_text(install["run"])
    # PATH holds only the fake python3: no uv, whatever the machine has
    env = {"PATH": str(bin_dir), "RUNNER_TEMP": str(tmp_path / "temp"),
           "GITHUB_ACTION_PATH": str(ROOT)}
    bash = shutil.which("bash") or "/bin/bash"
    done = subprocess.run([bash, "-e", str(script)], env=env, capture_output=True, text=True, timeout=60)

    assert done.returncode == 1
    assert done.stdout.startswith("::error title=llm-pages-deployer::needs Python 3.11 or later on the runner, "
                                  "found Python 3.10.12.")
    assert not (tmp_path / "temp").exists()  # stopped before creating anything
