"""Run one job the way GitHub's runner does: steps in order, `if:` (default `success()`), `run` scripts with the
shell rules, `uses:` (composite actions, built-in stand-ins), env layering, per-step command files, masking,
timeouts and cancellation. Rules: docs.github.com "Workflow syntax for GitHub Actions" and actions/runner's
`src/Runner.Worker/`.
"""

from __future__ import annotations

import functools
import json
import math
import os
import platform
import shlex
import shutil
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.runner.actions import ActionDefinition, ActionResolver
from sandbox.runner.builtins import Builtin, BuiltinCall
from sandbox.runner.commands import (
    Annotation,
    EnvFileError,
    Masker,
    OutputProcessor,
    parse_env_file,
    parse_path_file,
    summary_error,
)
from sandbox.runner.concurrency import RunHandle
from sandbox.runner.expressions import CaseSensitive, Evaluator, ExpressionError, to_number, to_str, truthy
from sandbox.runner.hashfiles import hash_files
from sandbox.runner.process import kill_groups, run_process
from sandbox.runner.results import JobResult, StepResult
from sandbox.runner.workflow import ActionRef, Job, Step, Workflow, WorkflowError, parse_uses

DEFAULT_JOB_TIMEOUT_MINUTES = 360
CLEANUP_SECONDS = 300  # what steps that still run after a cancellation (`if: always()`) get, together
MAX_COMPOSITE_DEPTH = 10
SHELLS = {
    "bash": ("bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "{0}"),
    "sh": ("sh", "-e", "{0}"),
    "python": ("python", "{0}"),
    "pwsh": ("pwsh", "-command", ". '{0}'"),
}
_EXTENSIONS = {"python": ".py", "pwsh": ".ps1"}
# github context keys the runner exports as GITHUB_<KEY> [RUN GitHubContext.cs]
_EXPORTED = (
    "action", "action_path", "action_ref", "action_repository", "actor", "actor_id", "api_url", "base_ref",
    "env", "event_name", "event_path", "graphql_url", "head_ref", "job", "output", "path", "ref", "ref_name",
    "ref_protected", "ref_type", "repository", "repository_id", "repository_owner", "repository_owner_id",
    "retention_days", "run_attempt", "run_id", "run_number", "server_url", "sha", "state", "step_summary",
    "triggering_actor", "workflow", "workflow_ref", "workflow_sha", "workspace",
)


class StepError(Exception):
    """The step fails with this message as an error annotation (bad expression, bad shell, missing action...)."""


@dataclass
class RunState:
    """What every job of a run shares."""

    workflow: Workflow
    payload: dict[str, Any]
    github: dict[str, Any]  # run-level `github` context (job and action keys are added per job/step)
    secrets: dict[str, str]
    vars: dict[str, str]
    inputs: dict[str, Any]
    machine_env: dict[str, str]
    masker: Masker
    source: Path  # the repository directory the run starts from
    workspace: Path
    temp: Path  # RUNNER_TEMP
    tool_cache: Path
    resolver: ActionResolver
    caches: Path  # the Actions cache service's store (`actions/cache/restore|save`)
    handle: RunHandle
    deadline: float | None = None  # the run's own wall-clock limit (time.monotonic)
    debug: bool = False
    kill_grace: float = 2.0
    on_log: Callable[[str], None] | None = None
    runner_name: str = "local-runner"


@dataclass
class _Scope:
    """The steps of a job, or of one composite action (which has its own `steps` and status)."""

    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    status: str = "success"
    env: dict[str, str] = field(default_factory=dict)  # composite: the action step's env
    inputs: dict[str, str] | None = None  # composite actions only
    action: ActionRef | None = None
    action_path: str = ""
    depth: int = 0
    names: Counter[str] = field(default_factory=Counter)

    @property
    def composite(self) -> bool:
        return self.inputs is not None

    def context_name(self, step: Step) -> str:
        if step.id:
            return step.id
        if step.run is not None:
            base = "__run"
        else:
            ref = parse_uses(step.uses)
            base = "__self" if ref.kind == "local" else f"__{ref.owner}_{ref.repo}"
        self.names[base] += 1
        return base if self.names[base] == 1 else f"{base}_{self.names[base]}"


def _text(value: Any) -> str:
    """A YAML scalar as the template it is: strings as written, numbers and booleans as GitHub prints them."""
    return value if isinstance(value, str) else to_str(value)


def _bool(value: Any) -> bool:
    return truthy(value) if not isinstance(value, str) else value.strip().lower() == "true"


class JobRunner:
    def __init__(self, state: RunState, job: Job, needs: dict[str, Any], result: JobResult):
        self.state = state
        self.job = job
        self.needs = needs
        self.result = result  # filled in as the job runs
        self.status = "success"  # the job's status for success()/failure()/cancelled()
        self.env: dict[str, str] = {}  # workflow env + job env + GITHUB_ENV additions
        self.path_prepends: list[str] = []
        self.background: list[int] = []
        self.deadline: float | None = None
        self.cleanup_deadline: float | None = None  # set when the job is cancelled
        self.timeout_minutes: float = DEFAULT_JOB_TIMEOUT_MINUTES
        self.active: list[StepResult] = []  # the step being run and the composite steps around it
        self.resolved: dict[str, ActionDefinition | Builtin] = {}

    # ------------------------------------------------------------ logging and status

    def emit(self, text: str) -> None:
        for line in self.state.masker.mask(text).split("\n"):
            self.result.log.append(line)
            for step in self.active:
                step.log.append(line)
            if self.state.on_log is not None:
                self.state.on_log(line)

    def annotate(self, annotation: Annotation, *, echo: bool = True) -> None:
        masked = Annotation(annotation.level, self.state.masker.mask(annotation.message), annotation.properties)
        self.result.annotations.append(masked)
        for step in self.active:
            step.annotations.append(masked)
        if echo:
            self.emit(f"##[{masked.level}]{masked.message}")

    def error(self, message: str) -> None:
        self.annotate(Annotation("error", message))

    def check_cancelled(self) -> bool:
        """Mark the job cancelled once the run is cancelled or the job's time is up."""
        if self.status == "cancelled":
            return True
        now = time.monotonic()
        if self.state.handle.cancelled:
            self.error("The operation was canceled.")
        elif self.deadline is not None and now >= self.deadline:
            self.error(
                f"The job running on runner {self.state.runner_name} has exceeded the maximum execution time "
                f"of {to_str(self.timeout_minutes)} minutes."
            )
        elif self.state.deadline is not None and now >= self.state.deadline:
            self.error("The run exceeded the local runner's time limit.")
        else:
            return False
        self.status = "cancelled"
        self.cleanup_deadline = now + CLEANUP_SECONDS
        return True

    def scope_status(self, scope: _Scope) -> str:
        return "cancelled" if self.status == "cancelled" else scope.status

    # ------------------------------------------------------------ contexts

    def github(self, scope: _Scope | None = None, context_name: str = "") -> dict[str, Any]:
        g = dict(self.state.github)
        g["job"] = self.job.id
        g["action"] = context_name
        if scope is not None and scope.action is not None:
            g["action_path"] = scope.action_path
            g["action_repository"] = scope.action.repository
            g["action_ref"] = scope.action.ref
        return g

    def runner_context(self) -> dict[str, Any]:
        arch = {"x86_64": "X64", "amd64": "X64", "aarch64": "ARM64", "arm64": "ARM64"}
        return {
            "name": self.state.runner_name, "os": "Linux",
            "arch": arch.get(platform.machine().lower(), platform.machine()),
            "temp": str(self.state.temp), "tool_cache": str(self.state.tool_cache),
            "debug": "1" if self.state.debug else "", "environment": "self-hosted",
        }

    def contexts(self, scope: _Scope, env: Mapping[str, str], context_name: str = "") -> dict[str, Any]:
        common = {
            "github": self.github(scope, context_name), "env": CaseSensitive(env), "steps": scope.steps,
            "job": {"status": self.status, "services": {}}, "runner": self.runner_context(), "strategy": {},
            "matrix": {},
        }
        if scope.composite:
            return {**common, "inputs": dict(scope.inputs or {})}
        return {**common, "vars": self.state.vars, "secrets": self.state.secrets, "needs": self.needs,
                "inputs": self.state.inputs}

    def evaluator(self, scope: _Scope, env: Mapping[str, str], status: bool = False, name: str = "") -> Evaluator:
        return Evaluator(self.contexts(scope, env, name), self.scope_status(scope) if status else None,
                         functools.partial(hash_files, self.state.workspace))

    # ------------------------------------------------------------ job

    def run(self) -> JobResult:
        state = self.state
        shutil.rmtree(state.temp, ignore_errors=True)
        state.temp.mkdir(parents=True)
        event_path = state.temp / "_github_workflow" / "event.json"
        event_path.parent.mkdir()
        event_path.write_text(json.dumps(state.payload, indent=2))
        state.github["event_path"] = str(event_path)
        state.workspace.mkdir(parents=True, exist_ok=True)
        top = _Scope()
        try:
            if self.set_up():
                for step in self.job.steps:
                    self.check_cancelled()
                    self.result.steps.append(self.run_step(step, top))
                    if self.status != "cancelled" and top.status == "failure":
                        self.status = "failure"
                self.result.outputs = self.job_outputs(top)
        finally:
            kill_groups(self.background)
            shutil.rmtree(state.temp, ignore_errors=True)
        self.result.conclusion = self.status
        return self.result

    def set_up(self) -> bool:
        """Job env, timeout, and every remote action resolved up front (as GitHub downloads them); False: failed."""
        try:
            ev = Evaluator({"github": self.github(), "secrets": self.state.secrets, "inputs": self.state.inputs,
                            "vars": self.state.vars})
            for key, value in self.state.workflow.env.items():
                self.env[str(key)] = ev.interpolate_str(_text(value), f"env.{key}")
            # job-level keys see fewer contexts than steps do (GitHub's context availability table)
            job_level = {"github": self.github(), "needs": self.needs, "strategy": {}, "matrix": {},
                         "vars": self.state.vars, "inputs": self.state.inputs}
            ev = Evaluator({**job_level, "secrets": self.state.secrets})
            for key, value in dict(self.job.get("env") or {}).items():
                self.env[str(key)] = ev.interpolate_str(_text(value), f"jobs.{self.job.id}.env.{key}")
            raw_timeout = self.job.get("timeout-minutes")
            if raw_timeout is not None:
                self.timeout_minutes = self.minutes(Evaluator(job_level), raw_timeout, "timeout-minutes")
            self.deadline = time.monotonic() + self.timeout_minutes * 60
            for step in self.job.steps:
                if step.uses is not None:
                    ref = parse_uses(step.uses)
                    if ref.kind == "remote":
                        self.resolved[ref.uses] = self.state.resolver.resolve(ref, self.state.workspace)
        except (ExpressionError, WorkflowError, StepError) as exc:
            self.error(f"Set up job: {exc}")
            self.status = "failure"
            return False
        return True

    @staticmethod
    def minutes(ev: Evaluator, raw: Any, what: str) -> float:
        value = ev.interpolate(raw) if isinstance(raw, str) else raw
        number = math.nan if isinstance(value, bool) else to_number(value)
        if not number > 0 or math.isinf(number):
            raise StepError(f"{what} must be a positive number of minutes, got {raw!r}")
        return number

    def job_outputs(self, top: _Scope) -> dict[str, str]:
        outputs: dict[str, str] = {}
        raw = dict(self.job.get("outputs") or {})
        if not raw:
            return outputs
        ev = self.evaluator(top, self.env)
        for name, template in raw.items():
            try:
                value = ev.interpolate_str(_text(template), f"outputs.{name}")
            except ExpressionError as exc:
                self.error(f"jobs.{self.job.id}.outputs.{name}: {exc}")
                self.status = "failure"
                continue
            if self.state.masker.mask(value) != value:
                self.annotate(Annotation("warning", f"Skip output '{name}' since it may contain secret."))
                continue
            outputs[str(name)] = value
        return outputs

    # ------------------------------------------------------------ steps

    def run_step(self, step: Step, scope: _Scope) -> StepResult:
        context_name = scope.context_name(step)
        first_line = str(step.run or "").strip().splitlines()[:1]
        result = StepResult(step.id, context_name, f"Run {step.uses}" if step.uses else f"Run {''.join(first_line)}")
        self.active.append(result)
        try:
            outcome, continue_on_error = self.step_body(step, scope, result)
        finally:
            self.active.pop()
        result.outcome = outcome
        result.conclusion = "success" if outcome == "failure" and continue_on_error else outcome
        if result.conclusion == "failure":
            scope.status = "failure"
        if not context_name.startswith("__"):
            scope.steps[context_name] = {
                "outputs": dict(result.outputs), "outcome": result.outcome, "conclusion": result.conclusion,
            }
        # the `steps` context keeps the real values; what leaves the runner is masked like the log
        result.outputs = {k: self.state.masker.mask(v) for k, v in result.outputs.items()}
        return result

    def step_body(self, step: Step, scope: _Scope, result: StepResult) -> tuple[str, bool]:
        """Run one step; returns (outcome, continue-on-error)."""
        own_env = dict(scope.env)  # the env this step adds to the job's: its composite's and its own `env:`
        continue_on_error = False
        try:
            ev = self.evaluator(scope, {**self.env, **own_env}, name=result.context_name)
            for key, value in dict(step.get("env") or {}).items():
                own_env[str(key)] = ev.interpolate_str(_text(value), f"env.{key}")
            env = {**self.env, **own_env}
            if not self.evaluator(scope, env, status=True, name=result.context_name).condition(step.get("if")):
                self.emit(f"Skipping step '{result.name}': if: {step.get('if', 'success()')} was false")
                return "skipped", False
            ev = self.evaluator(scope, env, name=result.context_name)  # status functions exist only in `if:`
            if step.get("name") is not None:
                result.name = self.state.masker.mask(ev.interpolate_str(_text(step.get("name")), "name"))
            raw_coe = step.get("continue-on-error", False)
            continue_on_error = _bool(ev.interpolate(raw_coe) if isinstance(raw_coe, str) else raw_coe)
            timeout = None
            if step.get("timeout-minutes") is not None:
                timeout = self.minutes(ev, step.get("timeout-minutes"), "timeout-minutes")
            if step.run is not None:
                return self.run_script(step, scope, result, own_env, ev, timeout), continue_on_error
            return self.run_uses(step, scope, result, own_env, ev), continue_on_error
        except (ExpressionError, StepError, WorkflowError) as exc:
            self.error(f"{result.name}: {exc}")
            return "failure", continue_on_error

    def step_env(
        self, own_env: Mapping[str, str], scope: _Scope, context_name: str, files: dict[str, Path],
        uses: ActionRef | None = None,
    ) -> dict[str, str]:
        """The process environment: machine env, CI, the env context, GITHUB_PATH, then GITHUB_*/RUNNER_*."""
        result = dict(self.state.machine_env)
        result["CI"] = "true"
        result.update(self.env)
        result.update(own_env)
        if self.path_prepends:
            result["PATH"] = os.pathsep.join([*reversed(self.path_prepends), result.get("PATH", "")])
        github = self.github(scope, context_name)
        github.update({"env": str(files["env"]), "output": str(files["output"]), "path": str(files["path"]),
                       "step_summary": str(files["step_summary"]), "state": str(files["state"])})
        if uses is not None:
            github["action_repository"] = uses.repository
            github["action_ref"] = uses.ref
        for key in _EXPORTED:
            if key in github:
                result[f"GITHUB_{key.upper()}"] = to_str(github[key])
        result["GITHUB_ACTIONS"] = "true"
        for key, value in self.runner_context().items():
            if value != "" or key != "debug":
                result[f"RUNNER_{key.upper()}"] = value
        result["RUNNER_WORKSPACE"] = str(self.state.workspace.parent)
        return result

    def header(self, name: str, lines: list[str], own_env: Mapping[str, str]) -> None:
        """The collapsed group GitHub's log opens each step with: what runs, with which inputs and env."""
        env = {**self.env, **own_env}
        self.emit(f"##[group]{name}")
        for line in [*lines, *(["env:"] + [f"  {k}: {v}" for k, v in env.items()] if env else [])]:
            self.emit(line)
        self.emit("##[endgroup]")

    def command_files(self) -> dict[str, Path]:
        folder = self.state.temp / "_runner_file_commands"
        folder.mkdir(exist_ok=True)
        token = uuid.uuid4().hex
        files = {key: folder / f"{key}_{token}" for key in ("path", "env", "output", "step_summary", "state")}
        for path in files.values():
            path.touch()
        return files

    def shell_argv(self, shell: str | None, script: Path, path_env: str) -> list[str]:
        if shell is None:
            bash = shutil.which("bash", path=path_env)
            template: tuple[str, ...] = ("bash", "-e", "{0}") if bash else ("sh", "-e", "{0}")
        elif shell in SHELLS:
            template = SHELLS[shell]
        elif "{0}" in shell:
            template = tuple(shlex.split(shell))
        else:
            raise StepError(
                f"Invalid shell option '{shell}'. Shell must be a valid built-in (bash, sh, python, pwsh) "
                "or a format string containing '{0}'"
            )
        exe = shutil.which(template[0], path=path_env)
        if exe is None:
            raise StepError(f"shell '{template[0]}' was not found on PATH")
        return [exe, *(part.replace("{0}", str(script)) for part in template[1:])]

    def defaults(self, key: str) -> Any:
        for source in (self.job.get("defaults"), self.state.workflow.raw.get("defaults")):
            run = dict(dict(source or {}).get("run") or {})
            if key in run:
                return run[key]
        return None

    def run_script(
        self, step: Step, scope: _Scope, result: StepResult, own_env: dict[str, str], ev: Evaluator,
        timeout: float | None,
    ) -> str:
        if not isinstance(step.run, str):
            raise StepError("run: expected a string")
        script = ev.interpolate_str(step.run, "run")
        shell = step.get("shell") if scope.composite else (step.get("shell") or self.defaults("shell"))
        workdir_raw = step.get("working-directory") or (None if scope.composite else self.defaults("working-directory"))
        cwd = self.state.workspace
        if workdir_raw is not None:
            cwd = self.state.workspace / ev.interpolate_str(str(workdir_raw), "working-directory")
        if not cwd.is_dir():
            raise StepError(f"working-directory '{cwd}' does not exist")
        files = self.command_files()
        process_env = self.step_env(own_env, scope, result.context_name, files)
        script_path = self.state.temp / f"{uuid.uuid4()}{_EXTENSIONS.get(str(shell), '.sh')}"
        script_path.write_text(script, encoding="utf-8")
        argv = self.shell_argv(shell if shell is None else str(shell), script_path, process_env.get("PATH", ""))
        shown = " ".join(argv[:-1] if argv[-1] == str(script_path) else argv)
        self.header(result.name, [*script.splitlines(), f"shell: {shown} {{0}}"], own_env)

        processor = OutputProcessor(self.state.masker, debug=self.state.debug)

        def on_line(line: str) -> None:
            for out in processor.feed(line):
                self.emit(out)

        # after a cancellation, steps that still run (`if: always()`) share a cleanup period, not the spent job time
        cancelled = self.status == "cancelled"
        handle = RunHandle() if cancelled else self.state.handle
        job_deadline = self.cleanup_deadline if cancelled else self.deadline
        deadlines = [d for d in (job_deadline, self.state.deadline) if d is not None]
        step_deadline = time.monotonic() + timeout * 60 if timeout is not None else None
        if step_deadline is not None:
            deadlines.append(step_deadline)
        proc = run_process(
            argv, cwd=cwd, env=process_env, on_line=on_line, deadline=min(deadlines) if deadlines else None,
            handle=handle, grace=self.state.kill_grace,
        )
        self.background.append(proc.pgid)
        for annotation in processor.annotations:
            self.annotate(annotation, echo=False)
        result.outputs.update(processor.outputs)
        outcome = "success"
        if proc.cancelled:
            self.check_cancelled()
            outcome = "cancelled"
        elif proc.timed_out:
            if step_deadline is not None and time.monotonic() >= step_deadline and not self.check_cancelled():
                self.error(f"The action '{result.name}' has timed out after {to_str(timeout)} minutes.")
                outcome = "failure"
            else:
                self.check_cancelled()
                outcome = "cancelled"
        elif proc.exit_code != 0:
            self.error(f"Process completed with exit code {proc.exit_code}.")
            outcome = "failure"
        elif processor.failed:
            outcome = "failure"
        if not self.file_commands(files, result):
            outcome = "failure" if outcome == "success" else outcome
        return outcome

    def file_commands(self, files: dict[str, Path], result: StepResult) -> bool:
        """Read back GITHUB_ENV/OUTPUT/PATH/STEP_SUMMARY; False when one of them is malformed."""
        ok = True
        for key in ("env", "output"):
            try:
                pairs = parse_env_file(files[key].read_text(encoding="utf-8", errors="replace"))
            except EnvFileError as exc:
                self.error(f"Unable to process file command '{key}' successfully. {exc}")
                ok = False
                continue
            for name, value in pairs:
                if key == "output":
                    result.outputs[name] = value
                elif name.upper() == "NODE_OPTIONS":
                    self.error("Can't store NODE_OPTIONS output parameter using '$GITHUB_ENV' command.")
                    ok = False
                else:
                    self.env[name] = value
        self.path_prepends.extend(parse_path_file(files["path"].read_text(encoding="utf-8", errors="replace")))
        size = files["step_summary"].stat().st_size
        problem = summary_error(size)
        if problem:
            self.annotate(Annotation("error", problem))
        elif size:
            result.summary = self.state.masker.mask(files["step_summary"].read_text(encoding="utf-8", errors="replace"))
        return ok

    def run_uses(self, step: Step, scope: _Scope, result: StepResult, own_env: dict[str, str], ev: Evaluator) -> str:
        ref = parse_uses(step.uses)
        action = self.resolved.get(ref.uses)
        if action is None:
            action = self.state.resolver.resolve(ref, self.state.workspace)
            if ref.kind == "remote":
                self.resolved[ref.uses] = action
        with_values = {
            str(k): ev.interpolate_str(_text(v), f"with.{k}")
            for k, v in dict(step.get("with") or {}).items()
        }
        self.header(result.name, (["with:"] + [f"  {k}: {v}" for k, v in with_values.items()]) if with_values else [],
                    own_env)
        if isinstance(action, Builtin):
            files = self.command_files()
            call = BuiltinCall(step.uses or "", with_values, self.state.workspace, self.state.source,
                               self.state.github["repository"], self.state.github["sha"],
                               self.step_env(own_env, scope, result.context_name, files, ref),
                               token=str(self.state.github.get("token") or ""),
                               permissions=self.state.workflow.job_permissions(self.job),
                               artifacts=self.state.temp.parent / "artifacts" / str(self.state.github["run_id"]),
                               caches=self.state.caches)
            done = action.run(call)
            for line in done.log:
                self.emit(line)
            for warning in done.warnings:
                self.annotate(Annotation("warning", warning))
            result.outputs.update(done.outputs)
            if done.error:
                self.error(done.error)
                return "failure"
            return "success"
        return self.run_composite(action, ref, with_values, scope, result, own_env)

    def run_composite(
        self, action: ActionDefinition, ref: ActionRef, with_values: dict[str, str], scope: _Scope,
        result: StepResult, own_env: dict[str, str],
    ) -> str:
        """The action's steps in their own scope (`inputs`, `steps`, status), then its `outputs.*.value`."""
        if scope.depth + 1 >= MAX_COMPOSITE_DEPTH:
            raise StepError(f"{ref.uses}: composite actions are nested more than {MAX_COMPOSITE_DEPTH} levels deep")
        for name in sorted(set(with_values) & set(action.inputs)):
            if action.inputs[name].get("deprecationMessage"):
                self.annotate(Annotation("warning", f"Input '{name}' has been deprecated with message: "
                                                    f"{action.inputs[name]['deprecationMessage']}"))
        unexpected = sorted(set(with_values) - set(action.inputs))
        if unexpected:
            self.annotate(Annotation(
                "warning", f"Unexpected input(s) {unexpected}, valid inputs are {sorted(action.inputs)}"
            ))
        inner = _Scope(env=dict(own_env), inputs={}, action=ref, action_path=str(action.directory),
                       depth=scope.depth + 1)
        defaults = Evaluator({
            "github": self.github(inner), "strategy": {}, "matrix": {}, "job": {"status": self.status},
            "runner": self.runner_context(),
        })
        inputs: dict[str, str] = {}
        for name, spec in action.inputs.items():
            default = spec.get("default")
            if name in with_values:
                inputs[name] = with_values[name]
            elif default is not None:
                inputs[name] = defaults.interpolate_str(_text(default), f"inputs.{name}.default")
        inputs.update({k: with_values[k] for k in unexpected})
        inner.inputs = inputs
        for step in action.steps:
            self.check_cancelled()
            result.steps.append(self.run_step(step, inner))
        ev = Evaluator(self.contexts(inner, {**self.env, **inner.env}))
        for name, spec in action.outputs.items():
            try:
                result.outputs[name] = ev.interpolate_str(_text(spec["value"]), f"outputs.{name}.value")
            except ExpressionError as exc:
                self.error(f"{ref.uses}: {exc}")
                inner.status = "failure"
        if inner.status == "success" and any(s.outcome == "cancelled" for s in result.steps):
            return "cancelled"
        return inner.status
