"""Loading workflows and actions, event matching, and the pure command/env-file parsers."""

from __future__ import annotations

from pathlib import Path

import pytest
from runner_support import REPO

from deployer.workflow_lint import lint_action, lint_workflow
from sandbox.runner import WorkflowError, event_from_dispatch, load_workflow, workflows_for_event
from sandbox.runner.commands import EnvFileError, Masker, OutputProcessor, parse_command, parse_env_file
from sandbox.runner.workflow import Unsupported, parse_uses, parse_workflow, triggered

FIXTURES = Path(__file__).parent / "fixtures" / "repo"


def test_on_is_read_as_a_key_and_yes_stays_a_string(tmp_path: Path) -> None:
    (tmp_path / "w.yml").write_text("on: [push, workflow_dispatch]\nenv: {A: yes, B: on}\n"
                                    "jobs: {j: {runs-on: x, steps: [{run: echo}]}}\n")
    workflow = load_workflow(tmp_path, "w.yml")
    assert set(workflow.triggers) == {"push", "workflow_dispatch"}
    assert workflow.env == {"A": "yes", "B": "on"}
    assert workflow.name == "w.yml"


def test_unrunnable_workflows_fail_alone() -> None:
    with pytest.raises(Unsupported, match="matrix jobs are not supported"):
        load_workflow(FIXTURES, ".github/workflows/ci.yml")
    with pytest.raises(WorkflowError, match="invalid YAML"):
        load_workflow(FIXTURES, ".github/workflows/broken.yml")
    # neither stops the other workflows from being matched
    assert workflows_for_event(FIXTURES, "push", {"ref": "refs/heads/main"}) == [".github/workflows/ci.yml"]
    assert ".github/workflows/broken.yml" not in workflows_for_event(FIXTURES, "workflow_dispatch", {})


@pytest.mark.parametrize(
    ("spec", "ref", "expected"),
    [
        ({"branches": ["main"]}, "refs/heads/main", True),
        ({"branches": ["main"]}, "refs/heads/mainline", False),
        ({"branches": ["releases/*"]}, "refs/heads/releases/v1", True),
        ({"branches": ["releases/*"]}, "refs/heads/releases/v1/fix", False),
        ({"branches": ["releases/**", "!releases/**-alpha"]}, "refs/heads/releases/v1/x-alpha", False),
        ({"branches": ["releases/**", "!releases/**-alpha"]}, "refs/heads/releases/v1/x", True),
        ({"branches-ignore": ["dependabot/**"]}, "refs/heads/dependabot/pip/x", False),
        ({"branches-ignore": ["dependabot/**"]}, "refs/heads/main", True),
        ({"branches": ["main"]}, "refs/tags/v1", False),
        ({"tags": ["v[0-9]+"]}, "refs/tags/v12", True),
        ({"tags": ["v[0-9]+"]}, "refs/heads/main", False),
    ],
)
def test_push_ref_filters(spec: dict, ref: str, expected: bool) -> None:
    assert triggered({"push": spec}, "w.yml", "push", {"ref": ref}) is expected


def test_path_filters_are_unsupported() -> None:
    with pytest.raises(Unsupported, match="path filters"):
        triggered({"push": {"paths": ["src/**"]}}, "w.yml", "push", {"ref": "refs/heads/main"})


def test_deploy_fixture_triggers_permissions_concurrency() -> None:
    workflow = load_workflow(FIXTURES, ".github/workflows/deploy.yml")
    assert workflow.triggered_by("repository_dispatch", {"action": "deploy-brief"})
    assert not workflow.triggered_by("repository_dispatch", {"action": "other"})
    assert workflow.triggered_by("workflow_dispatch", {})
    assert not workflow.triggered_by("push", {})
    assert workflow.concurrency is not None and workflow.concurrency.group.startswith("deploy-")
    perms = workflow.job_permissions(workflow.jobs["deploy"])
    assert perms["contents"] == "write" and perms["actions"] == "none"


def base(**job: object) -> dict:
    return {"on": "push", "jobs": {"j": {"runs-on": "x", "steps": [{"run": "echo"}], **job}}}


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ({"jobs": base()["jobs"]}, "'on' is required"),
        ({**base(), "on": "pushh"}, "unknown event 'pushh'"),
        ({**base(), "permisions": {}}, "unexpected keys"),
        ({"on": "push", "jobs": {}}, "at least one job"),
        (base(steps=[{"run": "a", "uses": "b"}]), "exactly one of 'run' or 'uses'"),
        (base(steps=[{"id": "x", "run": "a"}, {"id": "x", "run": "b"}]), "duplicate step id"),
        (base(**{"runs-on": None}) | {"jobs": {"j": {"steps": [{"run": "a"}]}}}, "'runs-on' is required"),
        (base(permissions={"contents": "admin"}), "must be read, write or none"),
        (base(permissions={"kontents": "read"}), "unknown permission scope"),
        (base(needs="ghost"), "unknown job 'ghost'"),
        (base(concurrency={"cancel-in-progress": True}), "concurrency must be"),
        (base(steps=[{"uses": "just-a-name"}]), "expected \\{owner\\}/\\{repo\\}"),
        (base(steps=[{"uses": "a/b@${{ github.sha }}"}]), "expressions are not allowed in 'uses'"),
    ],
)
def test_invalid_workflows_are_refused(raw: dict, error: str) -> None:
    with pytest.raises(WorkflowError, match=error):
        parse_workflow(raw, "w.yml")


@pytest.mark.parametrize(("job", "what"), [({"strategy": {}}, "matrix"), ({"services": {}}, "service containers")])
def test_unsupported_job_features_say_so(job: dict, what: str) -> None:
    with pytest.raises(Unsupported, match=what):
        parse_workflow(base(**job), "w.yml")


def test_uses_references() -> None:
    assert parse_uses("./").kind == "local"
    ref = parse_uses("actions/checkout@v4")
    assert (ref.owner, ref.repo, ref.ref, ref.path) == ("actions", "checkout", "v4", "")
    assert parse_uses("owner/repo/sub/dir@abc123").path == "sub/dir"
    with pytest.raises(WorkflowError, match="expected"):
        parse_uses("just-a-name")
    with pytest.raises(Unsupported, match="docker"):
        parse_uses("docker://alpine:3")


def test_event_from_an_emulator_dispatch_record() -> None:
    workflow = load_workflow(FIXTURES, ".github/workflows/deploy.yml")
    record = {"kind": "repository_dispatch", "owner": "octo", "repo": "site", "event_type": "deploy-brief",
              "client_payload": {"id": "b1"}, "workflow_id": None, "ref": None, "inputs": None, "sender": "octo"}
    name, payload = event_from_dispatch(record, REPO, workflow)
    assert name == "repository_dispatch"
    assert payload["action"] == "deploy-brief" and payload["client_payload"] == {"id": "b1"}
    assert payload["branch"] == "main" and payload["repository"]["full_name"] == "octo/site"
    assert payload["repository"]["url"] == f"{REPO.api_url}/repos/octo/site"
    manual = {**record, "kind": "workflow_dispatch", "ref": "main", "inputs": {"brief": "{}"}}
    name, payload = event_from_dispatch(manual, REPO, workflow)
    assert (name, payload["ref"], payload["inputs"]) == ("workflow_dispatch", "refs/heads/main",
                                                         {"brief": "{}", "dry-run": "false"})


def test_parse_command_properties_and_escapes() -> None:
    command = parse_command("  ::Error file=a.py,line=2,title=x%2Cy%3Az::50%25 done%0Anext")
    assert command is not None
    assert (command.name, command.properties, command.data) == (
        "error", {"file": "a.py", "line": "2", "title": "x,y:z"}, "50% done\nnext")
    assert parse_command("no command") is None
    assert parse_command(":: nothing") is None


def test_stop_commands_and_unknown_commands() -> None:
    processor = OutputProcessor(Masker())
    assert processor.feed("::stop-commands::pause-token") == []
    assert processor.feed("::add-mask::not-a-mask-now") == ["::add-mask::not-a-mask-now"]
    assert processor.feed("::pause-token::") == []
    assert processor.feed("::made-up::x") == ["::made-up::x"]
    assert processor.feed("::set-env name=A::b") == ["##[error]The `set-env` command is disabled. "
                                                      "Please upgrade to using Environment Files."]
    assert processor.failed


def test_env_file_forms_and_errors() -> None:
    assert parse_env_file("a=1\n\nb<<EOF\nx\ny=z\nEOF\nc=\r\n") == [("a", "1"), ("b", "x\ny=z"), ("c", "")]
    assert parse_env_file("k=v<<not-heredoc\n") == [("k", "v<<not-heredoc")]
    with pytest.raises(EnvFileError, match="Matching delimiter not found 'END'"):
        parse_env_file("k<<END\nvalue\n")
    with pytest.raises(EnvFileError, match="Invalid format 'no-separator'"):
        parse_env_file("no-separator\n")
    with pytest.raises(EnvFileError, match="Invalid format '=value'"):
        parse_env_file("=value\n")


def test_masker_masks_values_lines_and_encodings() -> None:
    masker = Masker()
    masker.add("p@ss word/with+chars")
    masker.add("line-one-secret\nline-two-secret")
    assert masker.mask("x p@ss word/with+chars y") == "x *** y"
    assert masker.mask("url p%40ss%20word%2Fwith%2Bchars") == "url ***"
    assert masker.mask("second: line-two-secret") == "second: ***"
    assert masker.mask('json "p@ss word/with+chars"') == 'json "***"'


def test_fixtures_are_what_github_accepts() -> None:
    """The runner is tested on valid GitHub input: the deploy-shaped fixture passes actionlint and the schemas,
    and where a fixture misuses a status function on purpose, actionlint objects just as the runner does."""
    workflows = FIXTURES / ".github" / "workflows"
    assert lint_workflow(workflows / "deploy.yml") == []
    assert lint_action(FIXTURES / "action.yml") == []
    [problem] = lint_workflow(workflows / "job-timeout.yml")
    assert 'calling function "cancelled" is not allowed here' in problem
