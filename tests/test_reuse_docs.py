"""What README, CHANGELOG and the example tell a consumer agrees with action.yml and the version."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

from deployer import ACTION_MAJOR_TAG, __version__
from deployer.action_docs import END, START, generated_section, replace_generated, tables
from deployer.workflow_lint import lint_workflow

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())


def test_readme_inputs_and_outputs_are_the_ones_action_yml_generates() -> None:
    assert generated_section(README) == tables(ACTION)  # fix: python -m deployer.action_docs


def test_the_generated_tables_list_every_input_and_output_with_its_default() -> None:
    text = tables(ACTION)
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows] == [*ACTION["inputs"], *ACTION["outputs"]]
    assert "| `github-token` | yes |  |" in text
    assert "| `openrouter-base-url` | no | `https://openrouter.ai/api/v1` |" in text
    assert "| `owner` | no | `\"\"` |" in text
    odd = tables({"inputs": {"x": {"description": "a | b\nc", "default": "1"}}, "outputs": {}})
    assert "| `x` | no | `1` | a \\| b c |" in odd  # one row per input, pipes escaped


def test_replacing_the_generated_part_keeps_the_rest_and_needs_both_markers() -> None:
    doc = f"before\n{START}\nold\n{END}\nafter\n"
    assert replace_generated(doc, "new") == f"before\n{START}\nnew\n{END}\nafter\n"
    with pytest.raises(ValueError, match="markers not found"):
        replace_generated("no markers here", "new")


def test_version_agrees_across_the_package_pyproject_and_changelog() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["version"] == __version__
    changelog = (ROOT / "CHANGELOG.md").read_text()
    releases = re.findall(r"^## \[(\d+\.\d+\.\d+)\]", changelog, flags=re.MULTILINE)
    assert releases and releases[0] == __version__
    assert f"@{ACTION_MAJOR_TAG}" in changelog


def test_the_readme_section_shows_the_snippet_the_steps_and_the_release_commands() -> None:
    start = README.index("## Use it in your repository")
    section = README[start:README.index("\n## ", start + 1)]
    assert f"uses: OWNER/llm-pages-deployer@{ACTION_MAJOR_TAG}" in section
    assert "steps.deploy.outputs.pages-url" in section
    assert all(f"\n{n}. **" in section for n in (1, 2, 3))
    assert f"git tag -f {ACTION_MAJOR_TAG} " in section and "deployer sandbox --publish-self" in section


def test_the_example_workflow_is_lint_clean_and_uses_the_outputs_later() -> None:
    path = ROOT / "examples" / "consumer-workflow.yml"
    assert lint_workflow(path) == []
    wf = yaml.safe_load(path.read_text())
    steps = wf["jobs"]["deploy"]["steps"]
    assert steps[0]["id"] == "deploy" and steps[0]["uses"] == f"OWNER/llm-pages-deployer@{ACTION_MAJOR_TAG}"
    later = yaml.safe_dump(steps[1:])
    assert all(f"steps.deploy.outputs.{name}" in later for name in ACTION["outputs"])
    assert "needs.deploy.outputs.pages-url" in yaml.safe_dump(wf["jobs"]["announce"])
