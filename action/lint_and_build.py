"""`LintAndBuild`: the step between a valid answer and assembly, for sites that need more than the model's text:
lint the workflows it wrote (when the brief asked for CI) and run its build script (`action/build.py`), merging the
script's outputs into the files. Problems come back phrased for the model, like validation problems, so
`generate` repairs them the same way (a failing build script's stderr is one of them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from action.build import BuildFailed, BuildLimits, BuildResult, run_build
from action.buildspec import BuildSpecError, find_build
from action.validate import Problem, check_files
from action.workflow_policy import WorkflowLintUnavailable, lint_problems, workflow_paths, workflow_problems


@dataclass
class LintAndBuild:
    attachments: Mapping[str, bytes]  # every attachment the build may read (this round's and earlier ones)
    secrets: Sequence[str] = ()
    env: Mapping[str, str] | None = None  # the action's environment, filtered by action/buildenv.py
    limits: BuildLimits = field(default_factory=BuildLimits)
    lint: bool = True
    log: Callable[[str], None] = lambda _message: None
    builds: list[BuildResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # for the job summary
    last_outputs: set[str] = field(default_factory=set)  # what the last call's build wrote (a later round may
    # change a published output without an edit aimed at it)

    def __call__(self, files: dict[str, str]) -> tuple[dict[str, str], list[Problem]]:
        self.last_outputs = set()
        problems = workflow_problems(files)
        if workflow_paths(files) and not problems and self.lint:
            try:
                problems = lint_problems(files)
            except WorkflowLintUnavailable as exc:
                self.note(f"workflows committed without actionlint: {exc}")
        if problems:
            return files, problems
        try:
            spec = find_build(files)
        except BuildSpecError as exc:
            return files, [Problem("build.py", str(exc))]
        if spec is None:
            return files, []
        try:
            result = run_build(spec, files, self.attachments, env=self.env, limits=self.limits, secrets=self.secrets,
                               log=self.log)
        except BuildFailed as exc:
            self.log(f"build: {exc}")
            return files, [Problem(spec.path, p.removeprefix(f"{spec.path}: ").removeprefix(f"{spec.path} "))
                           for p in exc.problems]
        self.builds.append(result)
        built = {**files, **result.outputs}
        if not spec.commit_script:
            del built[spec.path]
        found = check_files(built, attachments=self.attachments, secrets=self.secrets, allow_workflows=True)
        changed = [p for p in found if p.path in result.outputs]
        if changed:
            return files, [Problem(spec.path, f"output {p.path} {p.message}") for p in changed]
        self.last_outputs = set(result.outputs)
        return built, []

    def note(self, text: str) -> None:
        self.notes.append(text)
        self.log(text)
