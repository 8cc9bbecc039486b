"""`deployer run`: one brief, from the event to a delivered notification, as a sequence of named stages, each a
function that returns the value the next stages take:

    Brief -> Published -> RoundPlan -> Site (Generated) -> CommitPlan -> Commit -> Deployment -> Outcome (delivered)

(`event.read_brief`, `publish.read_published`, `planner.make_plan`, `generate.generate`, `plan.plan_commit`,
`publish.push_commit`, `pages.deploy`, `notify_once.notify_once`). A round notified before (its commit's delivery
record says so) is not notified again: a re-run of it ends after the `delivery record` stage. Each stage is a log
group and a row in the job summary; the first failure prints one `::error::` naming its stage and cause, and the
exit status is non-zero. Exit 0 means the evaluator has the notification (from this run or an earlier one). One
stage runs beside the others: the checks (their translation, the browser's start) are prepared in a thread while
the model writes, and the first check of the site waits for them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from action import gha
from action.catalogue import ModelCatalogue
from action.ciwait import wait_for_runs
from action.config import RunConfig, load
from action.delivery_record import Status, carried_claim
from action.event import BriefSource, read_brief
from action.generate import Generated, SoftChecks, generate
from action.lint_and_build import LintAndBuild
from action.llm import OpenRouterClient, RetryPolicy
from action.meanwhile import Logger, Meanwhile
from action.notify import Delivery, notify, payload
from action.plan import plan_commit
from action.plan_text import plan_table
from action.planner import Planned
from action.planner import make_plan as ask_for_plan
from action.progress import Reporter
from action.published import Published
from action.round_plan import RoundPlan
from action.validate import Problem
from action.verify.report import counts, failures, result_line, summary_table
from action.verify.verifier import Verifier
from deployer.brief import Brief

# PyGithub (a third of `deployer run`'s imports) comes with action.publish and action.pages, imported by the stages
# that talk to GitHub when they run: start-up stays lean (tests/action/test_startup.py).
if TYPE_CHECKING:
    from github import Github

    from action.notify_once import Outcome
    from action.pages import Deployment
    from action.publish import Commit

# A check repair (one more answer, then verification) starts only while this much time is left before the
# deadline: publishing, the Pages build and the notification need the rest.
VERIFY_REPAIR_RESERVE_S = 240.0
# Below this, even the first verification is skipped: the notification matters more.
VERIFY_MIN_LEFT_S = 90.0

# A run whose ref update loses to another run of the same task starts again on top of the new head, this often.
MAX_ROUND_ATTEMPTS = 3

P = ParamSpec("P")
T = TypeVar("T")


class StageFailed(RuntimeError):
    """A stage failed: `stage` names it, `cause` is the named error that stopped it."""

    def __init__(self, stage: str, cause: BaseException):
        self.stage = stage
        self.cause = cause
        super().__init__(f"{stage}: {error_message(cause)}")


def error_message(exc: BaseException) -> str:
    """What went wrong, in one line for the log and the summary (GitHub's own message for its errors)."""
    if raised_by(exc, "github", "GithubException"):
        message = exc.data.get("message") if isinstance(exc.data, dict) else exc.data
        return f"GitHub answered HTTP {exc.status}: {message}"
    return str(exc) or type(exc).__name__


def raised_by(exc: BaseException, module: str, name: str) -> bool:
    """`isinstance(exc, module.name)` without importing `module` (PyGithub, with the stages that use it): an error
    of a module never imported cannot have been raised."""
    loaded = sys.modules.get(module)
    return loaded is not None and isinstance(exc, getattr(loaded, name))


@dataclass
class Report:
    """What the job summary shows: links, the model and its tokens, and when every stage started and how long it
    took (the checks run beside generate: their row starts before generate's ends)."""

    timings: list[tuple[str, float, float]] = field(default_factory=list)  # (stage, started s into the run, seconds)
    facts: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)  # Markdown blocks after the stage table
    plan: str = ""  # the round plan's table, after the stage table

    def markdown(self, ok: bool) -> str:
        lines = [f"## {'Deployed' if ok else 'Deployment failed'}: {self.facts.get('task', '(unknown task)')}", ""]
        for key in ("round", "repository", "commit", "workflows", "page", "plan", "model", "models skipped", "tokens",
                    "LLM requests", "LLM cost", "checks", "live checks", "notified"):
            if key in self.facts:
                lines.append(f"- **{key}**: {self.facts[key]}")
        lines += ["", "| stage | started at s | seconds |", "|---|---:|---:|"]
        lines += [f"| {name} | {started:.2f} | {seconds:.2f} |"
                  for name, started, seconds in sorted(self.timings, key=lambda row: row[1])]
        for section in [self.plan] * bool(self.plan) + self.sections:
            lines += ["", section.rstrip("\n")]
        lines += ["", *[f"> {note}" for note in self.notes]]
        return "\n".join(lines).rstrip() + "\n"


class Run:
    def __init__(self, config: RunConfig, log: gha.Log):
        self.config = config
        self.log = log
        self.report = Report()
        self.started = time.time()
        self.clock = time.monotonic()  # the summary's "started at" column counts from here
        self.verifier: Verifier | None = None
        self.pending: Meanwhile[Verifier] | None = None  # the checks, prepared while the model writes
        self.progress = Reporter.for_run(config.event_path, log)
        self.catalogue = ModelCatalogue(config.openrouter_base_url, config.openrouter_key)  # one read of the list
        self.clients: list[OpenRouterClient] = []  # every client of the run, for the total cost

    def client(self, log: Logger | None = None, **kwargs: Any) -> OpenRouterClient:
        """An OpenRouter client with the run's settings and shared model list; counted in the run's cost."""
        cfg = self.config
        client = OpenRouterClient(api_key=cfg.openrouter_key, models=cfg.models, base_url=cfg.openrouter_base_url,
                                  temperature=cfg.temperature, max_tokens=cfg.max_tokens, catalogue=self.catalogue,
                                  log=log or self.log.info, **kwargs)
        self.clients.append(client)
        return client

    def stage(self, name: str, step: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`step(...)` as the stage `name`: a log group, a timing row, and any failure as StageFailed naming it."""
        began = time.monotonic()
        with self.log.group(name), self.progress.stage(name, self.report.facts):
            try:
                return step(*args, **kwargs)
            except StageFailed:
                raise
            except Exception as exc:
                raise StageFailed(name, exc) from exc
            finally:
                self.report.timings.append((name, began - self.clock, time.monotonic() - began))

    def deadline(self, source: BriefSource) -> float:
        start = source.accepted_at.timestamp() if source.accepted_at else self.started
        return start + self.config.deadline_minutes * 60

    def execute(self) -> dict[str, str]:
        try:
            return self._execute()
        finally:
            self.join_checks()  # a browser started meanwhile is closed too, whatever stopped the round
            if self.verifier is not None:
                self.verifier.close()
                self.verifier = None  # a round started again (BranchMoved) prepares its own

    def _execute(self) -> dict[str, str]:
        source = self.stage("brief", self.read_event)
        from action.github_client import open_github
        from action.publish import committed_round

        brief, deadline = source.brief, self.deadline(source)
        gh = open_github(self.config.github_token, self.config.github_api_url, timeout=self.config.github_timeout,
                         deadline=deadline)
        published = self.stage("repository", self.read_repository, gh, brief)
        plan = self.stage("plan", self.make_plan, brief, published)
        generated: Generated | None = None
        commit = committed_round(published)  # a re-run of a round already published
        earlier = self.stage("delivery record", self.earlier_delivery, gh, commit) if commit else None
        if commit is None:
            self.start_checks(brief, published.earlier_checks, plan, deadline,
                              {a.name: a.data for a in published.earlier_attachments})
            generated = self.stage("generate", self.generate_site, source, published, plan, deadline)
            if self.checking:
                self.stage("verify", self.record_verification, generated.site)
            commit = self.stage("publish", self.publish_site, gh, brief, published, plan, generated.site, deadline)
        self.report.facts.update(repository=commit.repo.html_url, commit=commit.sha)
        if earlier is not None and earlier.target_url:  # notified before: nothing left to do
            return {"repo-url": commit.repo.html_url, "commit-sha": commit.sha, "pages-url": earlier.target_url}
        if commit.push_workflows:
            self.stage("workflows", self.wait_for_workflows, gh, commit, deadline)
        deployment = self.stage("pages", self.deploy_pages, gh, commit, deadline)
        self.stage("notify", self.notify_evaluator, gh, brief, commit, deployment, deadline)
        if generated is None:  # no local verification happened: the checks are prepared for the live page
            self.start_checks(brief, [], plan, deadline)
        if self.checking:
            self.stage("live checks", self.check_live, deployment.pages_url, generated.site if generated else None)
        return {"repo-url": commit.repo.html_url, "commit-sha": commit.sha, "pages-url": deployment.pages_url}

    def read_event(self) -> BriefSource:
        cfg = self.config
        event = json.loads(Path(cfg.event_path).read_text(encoding="utf-8")) if cfg.event_path else None
        source = read_brief(cfg.event_name, event, cfg.brief_input)
        self.log.mask(source.dropped_secret)
        brief = source.brief
        self.report.facts.update(task=brief.task, round=str(brief.round))
        self.log.info(f"task {brief.task}, round {brief.round}, nonce {brief.nonce} (from {source.origin}); "
                      f"{len(brief.checks)} checks, {len(brief.attachments)} attachments")
        return source

    def read_repository(self, gh: Github, brief: Brief) -> Published:
        from action.publish import read_published, token_login

        login = token_login(gh)
        owner = self.config.owner or login
        published = read_published(gh, brief, owner=owner, login=login, token=self.config.github_token)
        name = f"{owner}/{brief.repo_name}"
        if published.repo is None and brief.round > 1:
            self.note(f"round {brief.round}, but {name} does not exist: building it fresh")
        self.log.info(f"{name}: " + ("new" if published.repo is None else f"exists, head {published.head}"))
        if published.round_commit is not None:
            self.note(f"round {brief.round} with nonce {brief.nonce} is already commit {published.round_commit}: "
                      "nothing to generate")
        elif published.head is not None:
            self.log.info(f"{len(published.files)} files at {published.head[:12]}")
            if brief.round > 1 and published.metadata is None:
                self.note(f"round {brief.round}, but {name} has no site of ours yet: building it fresh")
        return published

    def make_plan(self, brief: Brief, published: Published) -> RoundPlan:
        """The model's plan of the round, or the sentence patterns' when it fails (the log says why); a round already
        published asks no model: nothing is generated."""
        planner = None if published.round_commit is not None else self.client(
            retry=RetryPolicy(attempts=2, max_wait=10), timeout=(10.0, 60.0))
        planned = ask_for_plan(brief, published, planner)
        plan = planned.plan
        if planned.by == "model":
            self.log.info(f"plan by {planned.reason}")
        elif planner is not None:
            self.log.warning(f"plan by the sentence patterns: {planned.reason}")
        self.report.facts["plan"] = _plan_source(planned)
        self.report.plan = plan_table(plan, _plan_source(planned))
        self.log.info(f"workflows {'allowed' if plan.workflows_allowed else 'not allowed'}; never committed: "
                      f"{', '.join(sorted(plan.excluded)) or '-'}; attachments the model may rewrite: "
                      f"{', '.join(sorted(plan.rewritable)) or '-'}; touches: {', '.join(plan.touches) or '-'}; "
                      f"served at {plan.site_prefix}")
        return plan

    def generate_site(self, source: BriefSource, published: Published, plan: RoundPlan,
                      deadline: float) -> Generated:
        cfg, brief = self.config, source.brief
        client = self.client()
        secrets = [s for s in (cfg.github_token, cfg.openrouter_key, source.dropped_secret) if s]
        attachments = {a.name: a.data for a in published.earlier_attachments}
        build = LintAndBuild({**attachments, **{a.name: a.decode().data for a in brief.attachments}},
                             secrets=secrets, log=self.log.info)
        checks = None
        if self.checking:
            checks = SoftChecks(self.soft_check, allowed=lambda: time.time() < deadline - VERIFY_REPAIR_RESERVE_S)
        generated = generate(brief, client, published, plan, year=datetime.now(UTC).year, secrets=secrets,
                             soft_checks=checks, build=build, log=self.log.info)
        self.record_generation(generated)
        for text in build.notes:
            self.note(text)
        return generated

    def publish_site(self, gh: Github, brief: Brief, published: Published, plan: RoundPlan,
                     site: dict[str, bytes], deadline: float) -> Commit:
        """The round's commit, carrying this run's claim to notify it (until the deadline and its grace)."""
        from action.notify_once import commit_claim
        from action.pages import enable_pages
        from action.publish import Commit, push_commit, repository_to_build_on

        claim = commit_claim(self.config.runner, deadline)
        commit_plan = plan_commit(brief, site, plan.excluded, claim=claim)
        repo, head, created = repository_to_build_on(gh, published, brief)
        if commit_plan.pages_build_type == "workflow":  # before the push: the push starts the workflow that deploys
            enable_pages(gh, repo, known_new=created, build_type="workflow")
        changed = frozenset(e.path for e in commit_plan.entries if published.files.get(e.path) != e.data)
        commit = Commit(repo, push_commit(gh, repo, commit_plan, head), commit_plan, created_repo=created,
                        claim=carried_claim(commit_plan.message, time.time()), changed=changed)
        self.log.info(f"commit {commit.sha} on {repo.default_branch}: {len(site)} files")
        return commit

    def wait_for_workflows(self, gh: Github, commit: Commit, deadline: float) -> None:
        runs = wait_for_runs(gh, commit.repo, commit.sha, commit.push_workflows, deadline=deadline, log=self.log.info)
        self.report.facts["workflows"] = ", ".join(f"{p} {r.get('conclusion')}" for p, r in runs.items())

    def deploy_pages(self, gh: Github, commit: Commit, deadline: float) -> Deployment:
        from action.pages import deploy

        deployment = deploy(gh, commit, deadline=deadline, log=self.log.info)
        if deployment.built not in (None, commit.sha):
            self.note(f"another run committed {deployment.built} on top of {commit.sha} meanwhile; its Pages build, "
                      "which contains this round, is the one served")
        self.report.facts["page"] = deployment.pages_url
        return deployment

    def earlier_delivery(self, gh: Github, commit: Commit) -> Status | None:
        """The round's delivery record, read before waiting for Pages: a notified round is left as it is."""
        from action.notify_once import StatusLog, earlier_delivery

        earlier = earlier_delivery(StatusLog(gh, commit.repo, commit.sha, commit.claim), self.config.runner,
                                   say=self.log.info)
        if earlier is not None:
            self.record_earlier(earlier)
        return earlier

    def notify_evaluator(self, gh: Github, brief: Brief, commit: Commit, deployment: Deployment,
                         deadline: float) -> Outcome:
        from action.notify_once import StatusLog, notify_once

        body = payload(email=brief.email, task=brief.task, round=brief.round, nonce=brief.nonce,
                       repo_url=commit.repo.html_url, commit_sha=commit.sha, pages_url=deployment.pages_url)

        def deliver(until: float) -> Delivery:
            return notify(brief.evaluation_url, body, deadline=until,
                          on_attempt=lambda n, outcome: self.log.info(f"attempt {n}: {outcome}"))

        outcome = notify_once(StatusLog(gh, commit.repo, commit.sha, commit.claim), self.config.runner, deliver,
                              deadline=deadline, target_url=deployment.pages_url, say=self.log.info)
        if outcome.unguarded:
            self.note(outcome.unguarded)
        if outcome.earlier is not None:
            self.record_earlier(outcome.earlier)
        elif outcome.delivery is not None:
            delivery = outcome.delivery
            self.report.facts["notified"] = f"after {delivery.attempts} attempt(s), HTTP {delivery.status}"
        return outcome

    def record_earlier(self, earlier: Status) -> None:
        code = f" (HTTP {earlier.http_status})" if earlier.http_status else ""
        by = f" by run {earlier.runner.label}" if earlier.runner else ""
        self.report.facts["notified"] = f"already notified at {earlier.when()}{code}{by}"
        if earlier.target_url:
            self.report.facts["page"] = earlier.target_url
        self.note(f"already notified at {earlier.when()}{code}: no second notification")

    def record_generation(self, generated: Generated) -> None:
        """The model that answered, why others did not, and what the answers cost, for the summary."""
        stats = generated.stats
        self.report.facts.update(model=stats.model, tokens=stats.usage.describe())
        if stats.skipped:
            self.report.facts["models skipped"] = "; ".join(f"{m}: {why}" for m, why in stats.skipped.items())
        continued = f", {stats.continuations} continuation(s)" if stats.continuations else ""
        self.report.facts["LLM requests"] = f"{stats.requests} ({stats.repairs} repairs{continued})"
        self.record_cost()
        self.log.info(f"generated {len(generated.site)} files with {stats.model} ({stats.usage.total_tokens} "
                      f"tokens, {stats.repairs} repairs)")

    def record_cost(self) -> None:
        """The run's total as OpenRouter billed it: every client's answers, failed models' and check translation's
        included."""
        spent = [c.spent.cost for c in self.clients if c.spent.cost is not None]
        if spent:
            self.report.facts["LLM cost"] = f"${sum(spent):.4f} (every answer of this run)"

    def start_checks(self, brief: Brief, earlier: list[object] | tuple[object, ...], plan: RoundPlan,
                     deadline: float, earlier_data: Mapping[str, bytes] | None = None) -> None:
        """Plan and translate the checks and start the browser in a thread, unless verification is off or time is
        short: the model writes meanwhile, and the first check of its site waits for them (`checks`). A brief
        without checks starts no thread and no browser."""
        if not self.config.verify or not (brief.checks or earlier):
            return
        if time.time() > deadline - VERIFY_MIN_LEFT_S:
            self.note("verification skipped: the deadline is too near")
            return
        self.progress.report("checks", "started")
        self.pending = Meanwhile("checks", lambda log: self.start_verifier(brief, earlier, plan, deadline,
                                                                            earlier_data, log))

    @property
    def checking(self) -> bool:
        return self.pending is not None or self.verifier is not None

    def checks(self) -> Verifier | None:
        """The checks' verifier, once they are prepared (None: verification was skipped)."""
        self.join_checks()
        return self.verifier

    def join_checks(self) -> None:
        """Wait for the checks started meanwhile: their log lines go out here, their time is a row of its own, and a
        failure to prepare them is the note it always was."""
        job, self.pending = self.pending, None
        if job is None:
            return
        began = time.monotonic()
        try:
            self.verifier = job.join(self.log.info)
        except Exception as exc:  # verification helps; it never stops a deployment
            self.note(f"verification skipped: {error_message(exc)}")
        self.report.timings.append((job.name, job.began - self.clock, job.seconds))
        self.log.info(f"checks: prepared in {job.seconds:.2f} s from {job.began - self.clock:.2f} s into the run, "
                      f"beside the other stages; waited {time.monotonic() - began:.2f} s for them here")
        self.progress.report(job.name, "succeeded")

    def start_verifier(self, brief: Brief, earlier: list[object] | tuple[object, ...], plan: RoundPlan,
                       deadline: float, earlier_data: Mapping[str, bytes] | None, log: Logger) -> Verifier:
        cfg = self.config
        translator = self.client(log=log, retry=RetryPolicy(attempts=2, max_wait=10), timeout=(10.0, 90.0))
        verifier = Verifier.prepare(brief, earlier, llm=translator, prefix=plan.site_prefix,
                                    local_only=cfg.verify_local_only, log=log, earlier_attachments=earlier_data,
                                    rewritten=plan.rewritable)
        verifier.deadline = deadline
        return verifier

    def soft_check(self, site: Mapping[str, bytes]) -> list[Problem]:
        """The hook of `generate` (SoftChecks): the first call waits for the checks prepared meanwhile."""
        verifier = self.checks()
        return verifier.soft_check(site) if verifier is not None else []

    def record_verification(self, site: dict[str, bytes]) -> None:
        """The verification of the site kept: counts in the facts, a table in the summary, a warning per failure."""
        verifier = self.checks()
        verdict = verifier.verdict_for(site) if verifier is not None else None
        if verifier is None or verdict is None:
            return
        results = verdict.results
        copied = f", {len(verdict.copied)} with typed-in figures" if verdict.copied else ""
        self.report.facts["checks"] = (f"{counts(results)}{copied} before publishing, after "
                                       f"{len(verifier.local) - 1} check repair(s) (verification took "
                                       f"{verifier.seconds:.1f}s)")
        for result in failures(results):
            self.note(f"published with a failing check: {result_line(result)}")
        for problem in verdict.copied_problems:
            self.note(f"published with a typed-in figure: {problem.message}")
        self.report.sections = [summary_table(results, verifier.live)]

    def check_live(self, pages_url: str, site: dict[str, bytes] | None) -> None:
        """The same checks once on the live page, for the summary; never fails the run."""
        verifier = self.checks()
        if verifier is None:
            return
        try:
            live = verifier.check_live(pages_url, site)
        except Exception as exc:
            self.note(f"live checks could not run: {error_message(exc)}")
            return
        self.report.facts["live checks"] = counts(live)
        for result in failures(live):
            self.log.warning(f"live page: {result_line(result)}")
        kept = verifier.verdict_for(site) if site is not None else None
        self.report.sections = [summary_table(kept.results if kept else None, live)]
        self.log.info(f"live checks on {pages_url}: {counts(live)}")

    def note(self, text: str) -> None:
        self.report.notes.append(text)
        self.log.warning(text)


def _plan_source(planned: Planned) -> str:
    if planned.by == "model":
        return f"by the model {planned.reason}"
    return f"by the sentence patterns ({planned.reason})"


def run(config: RunConfig, log: gha.Log) -> int:
    job = Run(config, log)
    for attempt in range(1, MAX_ROUND_ATTEMPTS + 1):
        try:
            outputs = job.execute()
            break
        except StageFailed as failure:
            if not raised_by(failure.cause, "action.publish", "BranchMoved") or attempt == MAX_ROUND_ATTEMPTS:
                return failed(job, log, failure)
            job.note(f"{failure.cause}; starting the round again on top of the new head "
                     f"(attempt {attempt + 1} of {MAX_ROUND_ATTEMPTS})")
    for name, value in outputs.items():
        gha.set_output(name, value)
    job.record_cost()
    job.progress.succeeded(job.report.facts)
    gha.append_summary(log.redact(job.report.markdown(ok=True)))
    log.info(f"done: {outputs['pages-url']}")
    return 0


def failed(job: Run, log: gha.Log, failure: StageFailed) -> int:
    """One `::error::` naming the stage, and the failed summary."""
    detail = error_message(failure.cause)
    log.error(f"{failure.stage} stage failed: {detail}", title=f"llm-pages-deployer: {failure.stage} failed")
    job.report.notes.append(f"**{failure.stage}** failed: {log.redact(detail)}")
    job.progress.failed(failure.stage, log.redact(f"{failure.stage} stage failed: {detail}"))
    job.record_cost()
    gha.append_summary(log.redact(job.report.markdown(ok=False)))
    return 1


def main(args: argparse.Namespace | None = None) -> int:
    log = gha.Log()
    try:
        config = load()
    except Exception as exc:
        log.error(str(exc), title="llm-pages-deployer: configuration")
        return 1
    log.mask(config.github_token)
    log.mask(config.openrouter_key)
    return run(config, log)


if __name__ == "__main__":
    sys.exit(main())
