"""LintAndBuild: workflows checked first, then the build step, its outputs merged into the files."""

from __future__ import annotations

from action.build import BuildLimits
from action.lint_and_build import LintAndBuild

HEADER = '# /// script\n# [tool.deployer]\n# outputs = {outputs}\n# commit_script = {commit}\n# ///\n'
PAGE = "<!doctype html><html><body><p id='max'>?</p></body></html>\n"


def build(body: str, outputs: str = '["data.json"]', commit: str = "true") -> str:
    return HEADER.format(outputs=outputs, commit=commit) + body


def test_outputs_are_merged_and_the_script_dropped_when_not_committed() -> None:
    lint_and_build = LintAndBuild({}, limits=BuildLimits(timeout_s=60))
    script = 'page = open("index.html").read()\nopen("index.html", "w").write(page.replace("?", "42"))\n' \
             'open("data.json", "w").write("{\\"max\\": 42}")\n'
    files, problems = lint_and_build({"index.html": PAGE,
                                      "build.py": build(script, '["data.json", "index.html"]', "false")})
    assert problems == []
    assert files == {"index.html": PAGE.replace("?", "42"), "data.json": '{"max": 42}'}
    assert len(lint_and_build.builds) == 1 and lint_and_build.last_outputs == {"data.json", "index.html"}


def test_a_failing_build_is_one_problem_for_the_model_with_stderr() -> None:
    files = {"index.html": PAGE, "build.py": build("raise SystemExit('no data for CIK 0000320193')\n")}
    kept, problems = LintAndBuild({}, limits=BuildLimits(timeout_s=60))(files)
    assert kept == files
    [problem] = problems
    assert problem.path == "build.py"
    assert problem.message.startswith("failed with exit status 1\nstderr:\nno data for CIK 0000320193")


def test_an_output_that_breaks_the_site_is_reported_against_the_script() -> None:
    files = {"index.html": PAGE,
             "build.py": build('open("index.html", "w").write("<html><body><img src=/x.png></body></html>")\n',
                               '["index.html"]')}
    _, problems = LintAndBuild({}, limits=BuildLimits(timeout_s=60))(files)
    assert [p.path for p in problems] == ["build.py"]
    assert problems[0].message.startswith("output index.html <img src=\"/x.png\"> is root-relative")


def test_workflow_problems_come_first_and_no_build_runs() -> None:
    workflow = "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ secrets.X }}\n"
    lint_and_build = LintAndBuild({}, limits=BuildLimits(timeout_s=60))
    _, problems = lint_and_build({"index.html": PAGE, ".github/workflows/ci.yml": workflow,
                           "build.py": build('open("data.json", "w").write("1")\n')})
    assert {p.message.split(";")[0] for p in problems} >= {"reads secrets.X"}
    assert lint_and_build.builds == []
