"""The runner really runs workflows from fixtures/repo: bash and python steps, composite actions, commands."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import pytest
from runner_support import REPO, deploy_dispatch, head, machine_env, manual, options

from sandbox.runner import NotTriggered, RunResult, WorkflowError, run_dispatch, run_workflow, workflows_for_event

SECRET = "ghp_fixture-secret-0123456789"


def lines_with(result: RunResult, text: str) -> list[str]:
    return [line for line in result.log if text in line]


def run(repo: Path, workflow: str, payload: dict, event: str = "workflow_dispatch", **kwargs: object) -> RunResult:
    return run_workflow(repo, f".github/workflows/{workflow}", event, payload, options=options(**kwargs))


def test_deploy_runs_the_composite_action_for_a_repository_dispatch(repo: Path) -> None:
    result = run(repo, "deploy.yml", deploy_dispatch("my-task"), "repository_dispatch", secrets={"GH_PAT": SECRET})

    assert result.conclusion == "success", result.log
    deploy = result.step("deploy")
    assert deploy.outputs == {"pages-url": "https://pages.example/my-task/", "token-length": str(len(SECRET))}
    assert [s.context_name for s in deploy.steps] == ["check", "publish"]
    assert lines_with(result, "pages=https://pages.example/my-task/ python=")
    # the secret reached the action only as an input, and every log line shows it masked
    assert "token is ***" in result.log
    assert not [line for line in result.log if SECRET in line]
    assert "input-env-count=0" in result.log  # composite actions get no INPUT_* variables
    workspace = next(line for line in result.log if line.startswith("action-path=")).split("=", 1)[1]
    assert f"expr-action-path={workspace}" in result.log
    assert "greeting=hello octo/site" in result.log  # an input default holding an expression
    assert [a.message for a in deploy.annotations] == [
        "Input 'legacy-flag' has been deprecated with message: Use 'task' instead."]
    assert "brief-task=my-task" in result.log
    # GITHUB_EVENT_PATH holds the repository_dispatch payload
    assert "event-action=deploy-brief" in result.log
    assert "event-keys=action,branch,client_payload,repository,sender" in result.log
    assert "levels=workflow/job" in result.log
    # summaries of the action's own steps count too, in run order
    assert result.summaries == ["Action wrote this for my-task\n", "### Deployed https://pages.example/my-task/\n"]
    job = result.jobs["deploy"]
    assert job.permissions["contents"] == "write" and job.permissions["pages"] == "write"
    assert job.permissions["issues"] == "none" and job.permissions["metadata"] == "read"
    assert result.steps[0].outputs["commit"] == head(repo)  # actions/checkout cloned the run's commit
    assert result.step("py").outputs["python-version"]


def test_workflow_dispatch_passes_the_brief_input(repo: Path) -> None:
    brief = json.dumps({"task": "from-input", "round": 1})
    payload = manual(repo, ".github/workflows/deploy.yml", {"brief": brief})
    assert payload["inputs"] == {"brief": brief, "dry-run": "false"}
    assert payload["ref"] == "refs/heads/main" and payload["workflow"] == ".github/workflows/deploy.yml"

    result = run(repo, "deploy.yml", payload, secrets={"GH_PAT": SECRET})

    assert result.conclusion == "success", result.log
    assert "brief-task=from-input" in result.log
    assert "event-keys=inputs,ref,repository,sender,workflow" in result.log


def test_repository_dispatch_types_filter_the_workflows(repo: Path) -> None:
    assert workflows_for_event(repo, "repository_dispatch", deploy_dispatch()) == [".github/workflows/deploy.yml"]
    other = deploy_dispatch(event_type="something-else")
    assert workflows_for_event(repo, "repository_dispatch", other) == []
    with pytest.raises(NotTriggered, match="not triggered by repository_dispatch type 'something-else'"):
        run(repo, "deploy.yml", other, "repository_dispatch")


def test_status_functions_and_continue_on_error(repo: Path) -> None:
    result = run(repo, "status.yml", manual(repo, ".github/workflows/status.yml"))

    assert result.conclusion == "failure"
    outcomes = {s.context_name: (s.outcome, s.conclusion) for s in result.steps}
    assert outcomes == {
        "__actions_checkout": ("success", "success"),
        "soft": ("failure", "success"),
        "after-soft": ("success", "success"),
        "composite": ("failure", "failure"),
        "skipped": ("skipped", "skipped"),
        "on-failure": ("success", "success"),
        "on-always": ("success", "success"),
        "on-success": ("skipped", "skipped"),
        "plain-condition": ("skipped", "skipped"),
    }
    assert "soft outcome=failure conclusion=success job=success" in result.log
    inner = {s.context_name: s.outcome for s in result.step("composite").steps}
    assert inner == {"one": "success", "two": "failure", "three": "skipped", "four": "success"}
    assert "four ran, action status failure" in result.log
    assert "failure ran, first=1" in result.log  # outputs of a failed composite still map
    assert "always ran, job=failure" in result.log
    assert "should not run" not in result.log
    assert "Process completed with exit code 4." in [a.message for a in result.annotations]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_step_timeout_kills_the_process_group(repo: Path, tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    result = run(repo, "timeout.yml", manual(repo, ".github/workflows/timeout.yml"),
                 env=machine_env(PID_FILE=str(pid_file)))

    assert result.conclusion == "failure"
    assert result.step("sleepy").outcome == "failure"
    assert "sleeping" in result.log
    assert any("has timed out after 0.03 minutes" in a.message for a in result.annotations)
    assert "cleanup ran after failure" in result.log
    pid = int(pid_file.read_text())
    for _ in range(100):  # SIGKILL is asynchronous: wait (bounded) for the kernel to finish the job
        if not _alive(pid):
            break
        time.sleep(0.05)
    assert not _alive(pid), "the background sleep of the timed-out step survived"


def test_workflow_commands_and_environment_files(repo: Path) -> None:
    result = run(repo, "commands.yml", manual(repo, ".github/workflows/commands.yml"))

    assert result.conclusion == "success", result.log
    assert "after the mask: ***" in result.log
    assert "again: ***" in result.log
    # only the script header, shown before the step ran and registered the mask, holds the literal (as on GitHub)
    assert [line for line in result.log if "late-secret-4242" in line] == [
        '##[group]Run echo "::add-mask::late-secret-4242"', 'echo "::add-mask::late-secret-4242"',
        'echo "after the mask: late-secret-4242"']
    group = result.log.index("##[group]A group")
    assert result.log[group:group + 3] == ["##[group]A group", "inside the group", "##[endgroup]"]
    error = next(a for a in result.annotations if a.level == "error" and a.properties)
    assert error.message == "first line\nsecond line"
    assert error.properties == {"file": "app.py", "line": "3", "title": "Bad, really: bad"}
    levels = [(a.level, a.message) for a in result.step("emit").annotations]
    assert ("warning", "be careful") in levels and ("notice", "for your information") in levels
    assert not [line for line in result.log if line.startswith("##[debug]")]

    assert result.step("emit").outputs == {"multi": "line one\n\nline two", "single": "a=b=c"}
    assert "multi-newlines=2 last=line two" in result.log
    assert "SAME_STEP=unset" in result.log and "env-file=set by emit" in result.log
    assert "tool-on-path" in result.log
    output_files = [line.split("=", 1)[1] for line in result.log if line.startswith("output-file=")]
    assert len(output_files) == len(set(output_files)) == 2  # a fresh GITHUB_OUTPUT for every step
    assert all("/_runner_file_commands/" in path for path in output_files)

    bad = result.step("bad-heredoc")
    assert (bad.outcome, bad.conclusion) == ("failure", "success")
    assert any("Matching delimiter not found 'NEVER_CLOSED'" in a.message for a in bad.annotations)

    big = result.step("big-summary")
    assert big.outcome == "success" and big.summary == ""
    assert any("$GITHUB_STEP_SUMMARY upload aborted" in a.message for a in big.annotations)
    assert result.jobs["commands"].summary == "## Summary of emit\n"

    files = sorted([repo / "action.yml", *repo.glob("actions/**/action.yml")])
    total = hashlib.sha256()
    for path in files:
        total.update(hashlib.sha256(path.read_bytes()).digest())
    assert f"hash={total.hexdigest()}" in result.log  # hashFiles over the checked-out workspace

    for step_id, message in (("bad-expression", "'case' is not supported"),
                             ("unknown-function", "unrecognized function 'frobnicate'"),
                             ("bad-shell", "Invalid shell option 'zsh-like'"),
                             ("missing-shell", "shell 'no-such-shell-here' was not found on PATH"),
                             ("missing-dir", "no/such/dir' does not exist")):
        step = result.step(step_id)
        assert step.outcome == "failure"
        assert any(message in a.message for a in step.annotations), step.annotations


def test_background_processes_live_until_the_job_ends(repo: Path, tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    result = run(repo, "background.yml", manual(repo, ".github/workflows/background.yml"),
                 env=machine_env(PID_FILE=str(pid_file)))

    assert result.conclusion == "success", result.log
    assert "still running in the next step" in result.log
    pid = int(pid_file.read_text())
    for _ in range(100):
        if not _alive(pid):
            break
        time.sleep(0.05)
    assert not _alive(pid), "the job's background process outlived the job"


def test_debug_lines_show_with_runner_debug(repo: Path) -> None:
    result = run(repo, "commands.yml", manual(repo, ".github/workflows/commands.yml"), debug=True)
    assert "##[debug]only in debug mode" in result.log


def test_environment_layers_default_variables_and_fresh_runner_temp(repo: Path) -> None:
    result = run(repo, "env.yml", manual(repo, ".github/workflows/env.yml"), secrets={"API_KEY": SECRET},
                 run_id=4242)

    assert result.conclusion == "success", result.log
    first = result.jobs["first"].log
    assert "level=step only=w ci=overridden" in first
    assert "level-after=job" in first
    assert "sha-ok=yes" in first
    expected = {
        "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "workflow_dispatch", "GITHUB_REPOSITORY": "octo/site",
        "GITHUB_REPOSITORY_OWNER": "octo", "GITHUB_REF": "refs/heads/main", "GITHUB_JOB": "first",
        "GITHUB_ACTION": "mark", "GITHUB_WORKFLOW": "Environment layers", "GITHUB_API_URL": REPO.api_url,
        "GITHUB_SERVER_URL": REPO.server_url, "GITHUB_RUN_ATTEMPT": "1", "GITHUB_RUN_ID": "4242",
        "RUNNER_OS": "Linux",
    }
    for key, value in expected.items():
        assert f"{key}={value}" in first
    assert "workspace-is-cwd=yes" in first
    assert "token-env=absent" in first  # GITHUB_TOKEN is never an environment variable by default
    second = result.jobs["second"].log
    assert "needs=success marker-exists=no" in second  # RUNNER_TEMP is emptied between jobs
    assert "leaked-output=[]" in second  # a job output holding a secret is dropped
    assert result.jobs["first"].steps[0].outputs["secret-out"] == "***"  # results leave the runner masked
    assert result.jobs["first"].steps[1].name == "Named with ***"
    assert SECRET not in json.dumps(result.to_dict())
    assert any(line.startswith("shell: ") and line.endswith("sh -e {0}") and "bash" not in line for line in second)
    # a failed job with continue-on-error does not fail the run
    assert result.jobs["flaky"].conclusion == "failure" and result.jobs["flaky"].continue_on_error
    assert any("Skip output 'leaked'" in a.message for a in result.jobs["first"].annotations)


def test_remote_actions_fail_the_job_clearly_before_any_step(repo: Path) -> None:
    result = run(repo, "remote.yml", manual(repo, ".github/workflows/remote.yml"))

    assert result.conclusion == "failure"
    assert result.steps == []
    assert any("someone/some-action@v1: actions from other repositories are not supported yet" in a.message
               for a in result.annotations)


def test_local_action_without_checkout_says_so(repo: Path) -> None:
    result = run(repo, "no-checkout.yml", manual(repo, ".github/workflows/no-checkout.yml"))

    assert result.conclusion == "failure"
    assert any("Did you forget to run actions/checkout" in a.message for a in result.annotations)


def test_composite_actions_have_no_secrets_context(repo: Path) -> None:
    result = run(repo, "secrets-in-action.yml", manual(repo, ".github/workflows/secrets-in-action.yml"),
                 secrets={"GH_PAT": SECRET})

    assert result.conclusion == "failure"
    assert any("unrecognized named-value 'secrets'" in a.message for a in result.step("bad").annotations)
    assert not [line for line in result.log if SECRET in line]


def test_given_workspace_is_used_in_place(repo: Path) -> None:
    result = run_workflow(repo, ".github/workflows/deploy.yml", "repository_dispatch", deploy_dispatch("inplace"),
                          secrets={"GH_PAT": SECRET}, workspace=repo, options=options())

    assert result.conclusion == "success", result.log
    assert f"action-path={repo}" in result.log
    assert any("the workspace already holds octo/site" in line for line in result.log)


def test_log_lines_stream_to_a_callback(repo: Path) -> None:
    seen: list[str] = []
    result = run(repo, "deploy.yml", deploy_dispatch(), "repository_dispatch", secrets={"GH_PAT": SECRET},
                 on_log=seen.append)
    assert seen == result.log


def test_bad_dispatch_inputs_are_refused(repo: Path) -> None:
    from sandbox.runner import EventError

    with pytest.raises(EventError, match="unexpected inputs provided: \\['nope'\\]"):
        manual(repo, ".github/workflows/deploy.yml", {"nope": "x"})
    with pytest.raises(EventError, match="must be true or false"):
        manual(repo, ".github/workflows/deploy.yml", {"dry-run": "maybe"})
    with pytest.raises(EventError, match="required input 'name' not provided"):
        manual(repo, ".github/workflows/queue.yml", {})


def test_machine_environment_does_not_leak_this_process(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOME_SERVICE_TOKEN", "should-not-reach-steps")
    result = run_workflow(repo, ".github/workflows/env.yml", "workflow_dispatch",
                          manual(repo, ".github/workflows/env.yml"))
    assert result.conclusion == "success", result.log
    assert "GITHUB_API_URL=https://api.github.com" in result.log
    assert os.environ["SOME_SERVICE_TOKEN"] not in "\n".join(result.log)


def test_job_timeout_cancels_the_job(repo: Path) -> None:
    result = run(repo, "job-timeout.yml", manual(repo, ".github/workflows/job-timeout.yml"))

    assert result.conclusion == "cancelled"
    assert [(s.context_name, s.outcome) for s in result.steps] == [
        ("sleepy", "cancelled"), ("skipped", "skipped"), ("always", "success"), ("status-in-run", "failure")]
    assert "always ran, job=cancelled" in result.log
    # as on GitHub, status functions exist only in `if:`
    assert any("unrecognized function 'cancelled' (status functions are only available in 'if:')" in a.message
               for a in result.step("status-in-run").annotations)
    assert any("has exceeded the maximum execution time of 0.02 minutes" in a.message for a in result.annotations)


def test_run_dispatch_runs_what_an_emulator_record_starts(repo: Path) -> None:
    record = {"kind": "repository_dispatch", "owner": "octo", "repo": "site", "event_type": "deploy-brief",
              "client_payload": {"brief": {"task": "recorded"}}, "workflow_id": None, "ref": None, "inputs": None,
              "sender": "octo", "received_at": "2026-01-01T00:00:00Z"}
    [result] = run_dispatch(repo, record, options(secrets={"GH_PAT": SECRET}))
    assert result.workflow == ".github/workflows/deploy.yml" and result.conclusion == "success", result.log
    assert result.step("deploy").outputs["pages-url"] == "https://pages.example/recorded/"
    assert run_dispatch(repo, {**record, "event_type": "other"}, options()) == []

    manual_record = {**record, "kind": "workflow_dispatch", "workflow_id": "env.yml", "ref": "main", "inputs": {},
                     "run_id": 777}
    [result] = run_dispatch(repo, manual_record, options())
    assert result.workflow == ".github/workflows/env.yml" and result.conclusion == "success", result.log
    assert result.run_id == 777 and "GITHUB_RUN_ID=777" in result.log  # the id the emulator gave the run
    with pytest.raises(WorkflowError, match=r"no workflow 'ghost\.yml'"):
        run_dispatch(repo, {**manual_record, "workflow_id": "ghost.yml"}, options())


def test_nested_composite_actions_keep_their_own_scopes(repo: Path) -> None:
    result = run(repo, "nested.yml", manual(repo, ".github/workflows/nested.yml"))

    assert result.conclusion == "success", result.log
    assert result.step("outer").outputs == {"greeting": "hello octocat"}
    nested_path = Path(next(line for line in result.log if line.startswith("nested-action-path=")).split("=", 1)[1])
    assert nested_path.parts[-2:] == ("actions", "nested")
    workspace = nested_path.parent.parent
    assert f"greet-action-path={workspace / 'actions' / 'greet'}" in result.log
    assert "inner-said=hello octocat inner-step-visible=[]" in result.log  # `steps` is per action
    assert "outer-got=hello octocat g-visible=[]" in result.log
    loop = result.step("loop")
    assert (loop.outcome, loop.conclusion) == ("failure", "success")
    assert any("nested more than 10 levels deep" in a.message for a in loop.annotations)
