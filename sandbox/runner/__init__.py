"""A local GitHub Actions runner: runs a repository's workflow for an event the way GitHub's runner would.

Public API: `run_workflow` (+ `RunOptions`, `RunResult`), `workflows_for_event`, the event builders in `event`,
`ConcurrencyRegistry` / `RunHandle` for a dispatcher, and `ActionResolver` (subclass `fetch` for remote actions).
"""

from sandbox.runner.actions import ActionResolver
from sandbox.runner.concurrency import ConcurrencyRegistry, RunHandle
from sandbox.runner.event import EventError, Repository, event_from_dispatch, repository_dispatch, workflow_dispatch
from sandbox.runner.expressions import ExpressionError
from sandbox.runner.results import JobResult, RunResult, StepResult
from sandbox.runner.run import NotTriggered, RunOptions, run_dispatch, run_workflow, workflows_for_event
from sandbox.runner.workflow import Unsupported, WorkflowError, load_workflow

__all__ = [
    "ActionResolver", "ConcurrencyRegistry", "EventError", "ExpressionError", "JobResult", "NotTriggered",
    "Repository", "RunHandle", "RunOptions", "RunResult", "StepResult", "Unsupported", "WorkflowError",
    "event_from_dispatch", "load_workflow", "repository_dispatch", "run_dispatch", "run_workflow", "workflow_dispatch",
    "workflows_for_event",
]
