"""What a run produced: per step outcome/conclusion/outputs/log, per job, and for the whole run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sandbox.runner.commands import Annotation


@dataclass
class StepResult:
    id: str | None  # the step's `id:`, None for steps without one
    context_name: str  # `id`, or the runner's generated name (`__run`, `__run_2`, `__actions_checkout`, ...)
    name: str
    outcome: str = "success"  # success | failure | cancelled | skipped (before continue-on-error)
    conclusion: str = "success"  # after continue-on-error
    outputs: dict[str, str] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)  # masked
    annotations: list[Annotation] = field(default_factory=list)
    summary: str = ""  # what the step wrote to GITHUB_STEP_SUMMARY (masked)
    steps: list[StepResult] = field(default_factory=list)  # a composite action's own steps


@dataclass
class JobResult:
    id: str
    name: str
    conclusion: str  # success | failure | cancelled | skipped
    steps: list[StepResult] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)
    annotations: list[Annotation] = field(default_factory=list)
    permissions: dict[str, str] = field(default_factory=dict)  # the GITHUB_TOKEN scopes the job was given
    continue_on_error: bool = False  # a failure of this job does not fail the run

    @property
    def summaries(self) -> list[str]:
        """Every step's summary in run order, including the steps inside composite actions."""

        def walk(steps: list[StepResult]) -> list[str]:
            return [text for s in steps for text in ([s.summary] if s.summary else []) + walk(s.steps)]

        return walk(self.steps)

    @property
    def summary(self) -> str:
        """The job summary: the steps' summaries joined, as GitHub shows it."""
        return "\n".join(self.summaries)


@dataclass
class RunResult:
    run_id: int
    workflow: str  # repository-relative path
    event_name: str
    conclusion: str  # success | failure | cancelled
    jobs: dict[str, JobResult] = field(default_factory=dict)

    @property
    def steps(self) -> list[StepResult]:
        return [s for job in self.jobs.values() for s in job.steps]

    def step(self, step_id: str) -> StepResult:
        """The top-level step with this `id` (in any job)."""
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(f"no step with id {step_id!r}; ids: {[s.id for s in self.steps if s.id]}")

    @property
    def log(self) -> list[str]:
        return [line for job in self.jobs.values() for line in job.log]

    @property
    def annotations(self) -> list[Annotation]:
        return [a for job in self.jobs.values() for a in job.annotations]

    @property
    def summaries(self) -> list[str]:
        return [s for job in self.jobs.values() for s in job.summaries]

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready), e.g. for a dispatcher's records."""
        return asdict(self)
