"""Our workflows and action.yml pass the checks GitHub users rely on, and those checks do catch mistakes."""

from pathlib import Path

import pytest
import yaml

from deployer.workflow_lint import lint_action, lint_workflow

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_is_lint_clean(path: Path) -> None:
    assert lint_workflow(path) == []


def test_action_metadata_matches_schema() -> None:
    assert lint_action(ROOT / "action.yml") == []


def test_linters_report_real_mistakes(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - run: echo ${{ github.nope }}\n        runs: 2\n")
    problems = lint_workflow(bad)
    assert any("nope" in p for p in problems)
    assert any("runs" in p for p in problems)
    bad_action = tmp_path / "action.yml"
    bad_action.write_text("name: x\ndescription: y\nruns:\n  using: composite\n  steps:\n    - run: echo hi\n")
    assert lint_action(bad_action) != []  # a composite run step without `shell`


def test_action_inputs_and_outputs_follow_the_design() -> None:
    meta = yaml.safe_load((ROOT / "action.yml").read_text())
    assert set(meta["inputs"]) == {
        "github-token", "openrouter-api-key", "model", "fallback-models", "openrouter-base-url", "owner", "brief",
        "verify",
    }
    assert set(meta["outputs"]) == {"repo-url", "commit-sha", "pages-url"}
    for name, spec in meta["inputs"].items():
        assert spec.get("description"), name
        assert "default" in spec or spec.get("required") is True, name
    assert meta["inputs"]["openrouter-base-url"]["default"] == "https://openrouter.ai/api/v1"
    assert meta["inputs"]["verify"]["default"] == "true"
    assert meta["runs"]["using"] == "composite"


def test_deploy_workflow_triggers_and_guards() -> None:
    wf = yaml.safe_load((ROOT / ".github" / "workflows" / "deploy.yml").read_text())
    on = wf[True]  # PyYAML reads the key `on` as a boolean
    assert on["repository_dispatch"]["types"] == ["deploy-brief"]
    assert "brief" in on["workflow_dispatch"]["inputs"]
    assert wf["permissions"] == {"contents": "read"}
    assert "task" in wf["concurrency"]["group"] and wf["concurrency"]["cancel-in-progress"] is False
    job = wf["jobs"]["deploy"]
    assert job["timeout-minutes"] <= 30
    uses = [step.get("uses") for step in job["steps"]]
    assert "./" in uses
