"""`deployer run` prepares the checks (their translation, the browser's start) while the model writes (issue 16):
the job summary's stage table shows when each stage started and how long it took, and only the order is asserted."""

from __future__ import annotations

import re
import stat
from pathlib import Path

from tests.e2e.conftest import Deployer, sample
from tests.e2e.test_action_run import dispatch_event
from tests.verify.support import require_browser

ROW_RE = re.compile(r"^\| (?P<stage>[a-z ]+) \| (?P<started>\d+\.\d\d) \| (?P<seconds>\d+\.\d\d) \|$", re.M)
ROUNDING = 0.01  # the table's two decimals


def stage_rows(summary: str) -> dict[str, tuple[float, float]]:
    """stage -> (started, ended), seconds into the run, from the summary's stage table."""
    return {m["stage"]: (float(m["started"]), float(m["started"]) + float(m["seconds"]))
            for m in ROW_RE.finditer(summary)}


def test_the_browser_starts_while_the_model_writes(deployer: Deployer) -> None:
    require_browser()
    brief = sample("sum-of-sales.r1.json", deployer.evaluator.notify_url)
    result = deployer.run("repository_dispatch", dispatch_event(brief))
    assert result.returncode == 0, result.stdout + result.stderr
    rows = stage_rows(result.summary)
    checks, generate, verify = rows["checks"], rows["generate"], rows["verify"]

    assert checks[0] <= generate[0]  # started first, in a thread
    assert checks[1] > generate[0]  # still starting Chromium when generate began: the two overlapped
    assert checks[1] <= generate[1] + ROUNDING  # the site's first check waited for them inside generate
    assert generate[1] <= verify[0] + ROUNDING
    assert "- **checks**: 3/3 passed, 0 failed before publishing" in result.summary
    assert "::group::checks" not in result.stdout  # its lines go out inside generate's group, where it joined
    assert "checks: 3. [js] " in result.stdout and "checks: prepared in " in result.stdout
    assert result.stdout.index("::group::generate") < result.stdout.index("checks: prepared in ")


def test_a_brief_without_checks_starts_no_browser(deployer: Deployer) -> None:
    brief = sample("sum-of-sales.r1.json", deployer.evaluator.notify_url)
    brief["checks"] = []
    result = deployer.run("repository_dispatch", dispatch_event(brief))
    assert result.returncode == 0, result.stdout + result.stderr
    rows = stage_rows(result.summary)
    assert "generate" in rows and "notify" in rows
    assert "checks" not in rows and "verify" not in rows and "live checks" not in rows
    assert "checks:" not in result.stdout


def test_a_browser_that_cannot_start_is_named_as_before(deployer: Deployer, tmp_path: Path) -> None:
    broken = tmp_path / "chromium"
    broken.write_text("#!/bin/sh\nexit 1\n")
    broken.chmod(broken.stat().st_mode | stat.S_IEXEC)
    brief = sample("sum-of-sales.r1.json", deployer.evaluator.notify_url)
    result = deployer.run("repository_dispatch", dispatch_event(brief), extra_env={"CHROME_BIN": str(broken)})
    assert result.returncode == 0, result.stdout + result.stderr  # verification helps; it never stops a deployment
    assert f"checks: browser checks skipped: cannot start {broken}" in result.stdout
    assert "- **checks**: 0/3 passed, 0 failed, 3 not run before publishing" in result.summary
    assert "checks" in stage_rows(result.summary)
