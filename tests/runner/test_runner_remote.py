"""`uses: owner/repo[/path]@ref` fetched from the GitHub emulator over smart HTTP: tags, branches, full SHAs,
subdirectories, tags that move, one cache per commit, and GitHub's words for a repository or version that is not
there."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import requests
from runner_support import machine_env, manual, options

from action.clone import git_auth_env
from sandbox.runner import RunResult, run_workflow
from sandbox.runner.remote import RemoteActionResolver
from tests.conftest import GitHub

ACTION = """\
name: Greeter
description: says hello from where it was fetched
inputs:
  who:
    description: whom to greet
    default: world
outputs:
  greeting:
    description: the greeting
    value: ${{ steps.greet.outputs.greeting }}
runs:
  using: composite
  steps:
    - id: greet
      shell: bash
      run: |
        echo "greeting=$(cat "$GITHUB_ACTION_PATH/message.txt") ${{ inputs.who }}" >> "$GITHUB_OUTPUT"
        echo "path=${{ github.action_path }} repo=${{ github.action_repository }} ref=${{ github.action_ref }}"
"""
SUB_ACTION = """\
name: Sub
description: an action in a subdirectory
outputs:
  where:
    description: its directory
    value: ${{ steps.s.outputs.where }}
runs:
  using: composite
  steps:
    - id: s
      shell: bash
      run: echo "where=$(basename "$GITHUB_ACTION_PATH") $(cat ../message.txt)" >> "$GITHUB_OUTPUT"
      working-directory: ${{ github.action_path }}
"""


class Api:
    def __init__(self, github: GitHub):
        self.url = github.url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"token {github.token}"

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        answer = self.session.request(method, f"{self.url}{path}", json=body, timeout=10)
        assert answer.ok, (method, path, answer.status_code, answer.text)
        return answer.json()

    def put_file(self, repo: str, path: str, text: str) -> str:
        body = {"message": f"add {path}", "content": base64.b64encode(text.encode()).decode()}
        current = self.session.get(f"{self.url}/repos/{repo}/contents/{path}", timeout=10)
        if current.ok:
            body["sha"] = current.json()["sha"]
        return self.call("PUT", f"/repos/{repo}/contents/{path}", body)["commit"]["sha"]


@pytest.fixture
def tool(github: GitHub) -> tuple[Api, dict[str, str]]:
    """`sandbox/greeter` with a root and a subdirectory action; tags v1 and v1.0.0 on its first release."""
    api = Api(github)
    api.call("POST", "/user/repos", {"name": "greeter", "auto_init": True})
    github.settle("sandbox/greeter")
    api.put_file("sandbox/greeter", "action.yml", ACTION)
    api.put_file("sandbox/greeter", "sub/action.yml", SUB_ACTION)
    first = api.put_file("sandbox/greeter", "message.txt", "hello")
    for tag in ("v1", "v1.0.0"):
        api.call("POST", "/repos/sandbox/greeter/git/refs", {"ref": f"refs/tags/{tag}", "sha": first})
    return api, {"first": first}


def consumer(tmp_path: Path, steps: str) -> Path:
    repo = tmp_path / "consumer"
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "use.yml").write_text(
        "name: Use\non: workflow_dispatch\njobs:\n  use:\n    runs-on: ubuntu-latest\n    steps:\n" + steps)
    return repo


def run_use(repo: Path, github: GitHub, resolver: RemoteActionResolver) -> RunResult:
    env = machine_env(GITHUB_API_URL=github.url, GITHUB_SERVER_URL=github.server_url)
    return run_workflow(repo, ".github/workflows/use.yml", "workflow_dispatch",
                        manual(repo, ".github/workflows/use.yml"), options=options(env=env, resolver=resolver))


def test_tags_branches_shas_and_subdirectories_resolve_from_the_emulator(
    tool: tuple[Api, dict[str, str]], github: GitHub, tmp_path: Path,
) -> None:
    _, shas = tool
    steps = "".join(
        f"      - id: {step_id}\n        uses: {uses}\n" + (f"        with:\n          who: {who}\n" if who else "")
        for step_id, uses, who in (
            ("tag", "sandbox/greeter@v1", "tag"),
            ("full", "sandbox/greeter@v1.0.0", ""),
            ("sha", f"sandbox/greeter@{shas['first']}", "sha"),
            ("branch", "sandbox/greeter@main", "branch"),
            ("sub", "sandbox/greeter/sub@v1", ""),
        )
    )
    cache = tmp_path / "cache"
    result = run_use(consumer(tmp_path, steps), github, RemoteActionResolver(github.server_url, cache))

    assert result.conclusion == "success", result.log
    assert result.step("tag").outputs["greeting"] == "hello tag"
    assert result.step("full").outputs["greeting"] == "hello world"
    assert result.step("sha").outputs["greeting"] == "hello sha"
    assert result.step("branch").outputs["greeting"] == "hello branch"
    assert result.step("sub").outputs["where"] == "sub hello"
    # one tree per commit, shared by every reference that resolves to it; action_path points into it
    trees = sorted(p.name for p in (cache / "sandbox" / "greeter").iterdir() if p.name != "mirror.git")
    assert trees == [shas["first"]]
    assert f"path={cache / 'sandbox' / 'greeter' / shas['first']} repo=sandbox/greeter ref=v1" in result.log


def test_a_moved_tag_is_seen_by_the_next_job(tool: tuple[Api, dict[str, str]], github: GitHub,
                                             tmp_path: Path) -> None:
    api, shas = tool
    resolver = RemoteActionResolver(github.server_url, tmp_path / "cache")
    repo = consumer(tmp_path, "      - id: tag\n        uses: sandbox/greeter@v1\n"
                              f"      - id: pinned\n        uses: sandbox/greeter@{shas['first']}\n")
    assert run_use(repo, github, resolver).step("tag").outputs["greeting"] == "hello world"

    second = api.put_file("sandbox/greeter", "message.txt", "bonjour")
    api.call("PATCH", "/repos/sandbox/greeter/git/refs/tags/v1", {"sha": second, "force": True})
    again = run_use(repo, github, resolver)

    assert again.step("tag").outputs["greeting"] == "bonjour world"
    assert again.step("pinned").outputs["greeting"] == "hello world"  # a SHA never moves


MISSING = {
    "repo": ("sandbox/nothing-here@v1", "Unable to resolve action `sandbox/nothing-here@v1`, repository not found"),
    "tag": ("sandbox/greeter@v9", "Unable to resolve action `sandbox/greeter@v9`, unable to find version `v9`"),
    "sha": ("sandbox/greeter@" + "0" * 40, f"unable to find version `{'0' * 40}`"),
    "dir": ("sandbox/greeter/nope@v1", "Can't find 'action.yml', 'action.yaml' or 'Dockerfile' for action "
                                       "'sandbox/greeter/nope@v1'."),
    "escape": ("sandbox/greeter/../../x@v1", "the path leaves the repository"),
}


def test_missing_repositories_versions_and_paths_fail_their_job_before_any_step(
    tool: tuple[Api, dict[str, str]], github: GitHub, tmp_path: Path,
) -> None:
    repo = consumer(tmp_path, "      - run: echo fine\n")
    jobs = "".join(f"  {name}:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo must-not-run\n"
                   f"      - uses: {uses}\n" for name, (uses, _) in MISSING.items())
    workflow = repo / ".github" / "workflows" / "use.yml"
    workflow.write_text(workflow.read_text() + jobs)
    result = run_use(repo, github, RemoteActionResolver(github.server_url, tmp_path / "cache"))

    assert result.conclusion == "failure"
    assert result.jobs["use"].conclusion == "success"
    for name, (_, message) in MISSING.items():
        job = result.jobs[name]
        assert job.conclusion == "failure" and job.steps == [], name
        assert any(message in a.message for a in job.annotations), [a.message for a in job.annotations]


def test_private_action_repositories_need_the_token(github: GitHub, tmp_path: Path) -> None:
    api = Api(github)
    api.call("POST", "/user/repos", {"name": "secret-tool", "auto_init": True, "private": True})
    api.put_file("sandbox/secret-tool", "action.yml", ACTION)
    api.put_file("sandbox/secret-tool", "message.txt", "psst")
    repo = consumer(tmp_path, "      - id: p\n        uses: sandbox/secret-tool@main\n")
    anonymous = run_use(repo, github, RemoteActionResolver(github.server_url, tmp_path / "anon"))
    assert any("repository not found" in a.message for a in anonymous.annotations)

    resolver = RemoteActionResolver(github.server_url, tmp_path / "authed", git_auth_env(github.token))
    authed = run_use(repo, github, resolver)
    assert authed.step("p").outputs["greeting"] == "psst world"
