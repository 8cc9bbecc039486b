"""The dispatch contract (deployer.dispatch_payload) holds the receiver, the action and the deploy workflows together.

The workflows' `run-name` and `concurrency` expressions are evaluated by the sandbox runner's evaluator, exactly as
its Actions service titles and queues a run, over payloads built by the contract module.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from action.event import read_brief
from deployer.brief import BriefError
from deployer.dispatch_payload import EVENT_TYPE, Inline, Reference, names_brief, read_payload, request_body
from receiver.payload import build_reference
from sandbox.runner.event import Repository, event_from_dispatch
from sandbox.runner.expressions import Evaluator
from sandbox.runner.run import creation_contexts, run_title
from sandbox.runner.workflow import Workflow, load_workflow

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = [(ROOT, ".github/workflows/deploy.yml"), (ROOT / "deployer", "templates/deploy-pages-brief.yml")]
BRIEF: dict[str, Any] = {
    "email": "student@example.com", "task": "sum-of-sales-7", "round": 2, "nonce": "n-1", "brief": "Sum the sales.",
    "checks": [], "evaluation_url": "https://grader.example.com/notify", "attachments": [],
}
ID = "019a3c4d5e6f0123456789abcdef"
INLINE = Inline(ID, "2026-01-01T00:00:00.000Z", BRIEF)
REFERENCE = Reference(ID, "2026-01-01T00:00:00.000Z", f"https://hooks.example.com/briefs/{ID}/payload", "tok",
                      BRIEF["task"], BRIEF["round"])
REPO = Repository("octo/deploys", "main", "https://api.github.com", "https://github.com")


def _event(workflow: Workflow, record: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return event_from_dispatch({"owner": "octo", "repo": "deploys", "sender": "octo", **record}, REPO, workflow)


def dispatched(workflow: Workflow, payload: Inline | Reference) -> tuple[str, dict[str, Any]]:
    body = request_body(payload)
    return _event(workflow, {"kind": "repository_dispatch", **body})


def pasted(workflow: Workflow, brief: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return _event(workflow, {"kind": "workflow_dispatch", "ref": "main", "inputs": {"brief": json.dumps(brief)}})


def group(workflow: Workflow, event: tuple[str, dict[str, Any]]) -> str:
    assert workflow.concurrency is not None
    return str(Evaluator(creation_contexts(workflow, *event)).interpolate_str(workflow.concurrency.group, "group"))


@pytest.fixture(params=WORKFLOWS, ids=lambda w: w[1])
def workflow(request: pytest.FixtureRequest) -> Workflow:
    root, path = request.param
    return load_workflow(root, path)


@pytest.mark.parametrize("payload", [INLINE, REFERENCE], ids=["inline", "reference"])
def test_the_run_title_names_the_brief_in_both_shapes(workflow: Workflow, payload: Inline | Reference) -> None:
    title = run_title(workflow, *dispatched(workflow, payload))
    assert names_brief(title, ID) and not names_brief(title, ID[:-1] + "0")
    assert title == f"sum-of-sales-7 round 2 [brief {ID}]"


def test_a_pasted_brief_is_titled_by_its_task_and_round(workflow: Workflow) -> None:
    assert run_title(workflow, *pasted(workflow, BRIEF)) == "sum-of-sales-7 round 2 (pasted by hand)"


def test_both_shapes_and_a_pasted_brief_queue_in_the_tasks_group(workflow: Workflow) -> None:
    """Round 1 inline and round 2 by reference (or pasted) of one task never run at once; other tasks do."""
    groups = {group(workflow, dispatched(workflow, INLINE)), group(workflow, dispatched(workflow, REFERENCE)),
              group(workflow, pasted(workflow, BRIEF))}
    assert len(groups) == 1 and groups.pop().endswith("-sum-of-sales-7")
    other = Inline("other", None, {**BRIEF, "task": "another-task"})
    assert group(workflow, dispatched(workflow, other)).endswith("-another-task")


def test_the_receivers_bytes_read_back_as_the_contract() -> None:
    body = json.loads(build_reference(ID, REFERENCE.accepted_at or "", "https://hooks.example.com/", "tok",
                                      BRIEF["task"], BRIEF["round"]))
    assert body == request_body(REFERENCE) and body["event_type"] == EVENT_TYPE
    assert read_payload(body["client_payload"]) == REFERENCE
    assert read_payload({"task": "t", "brief": "text"}) is None  # a hand-made dispatch with the brief's fields


def test_the_action_reads_an_inline_payload_whatever_the_limits() -> None:
    """A dispatched brief met the receiver's limits, perhaps raised there: the action does not apply its own."""
    big = Inline(ID, "2026-01-01T00:00:00.000Z", {**BRIEF, "brief": "b" * 50})
    source = read_brief("repository_dispatch", request_body(big), None, env={"BRIEF_MAX_CHARS": "10"})
    assert (source.receiver_id, source.brief.task, source.brief.brief) == (ID, "sum-of-sales-7", "b" * 50)
    assert source.accepted_at is not None and source.accepted_at.year == 2026


@pytest.mark.parametrize("event_name, event, brief_input", [
    ("workflow_dispatch", {"inputs": {"brief": json.dumps({**BRIEF, "brief": "b" * 11})}}, None),
    ("repository_dispatch", {"client_payload": {**BRIEF, "brief": "b" * 11}}, None),
    ("repository_dispatch", request_body(INLINE), json.dumps({**BRIEF, "brief": "b" * 11})),
], ids=["workflow_dispatch", "hand-made dispatch", "brief input"])
def test_a_brief_pasted_by_hand_meets_the_receivers_limits(event_name: str, event: dict[str, Any],
                                                           brief_input: str | None) -> None:
    with pytest.raises(BriefError) as exc:
        read_brief(event_name, event, brief_input, env={"BRIEF_MAX_CHARS": "10"})
    assert [(e.field, e.message) for e in exc.value.errors] == [("brief", "must be at most 10 characters, not 11")]
