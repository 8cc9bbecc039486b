"""`deployer run`: one brief, from the event to a delivered notification, as a sequence of named stages.

Brief -> Site -> Commit -> Deployment -> Notification. Each stage is a log group and a row in the job summary; the
first failure prints one `::error::` naming its stage and cause, and the exit status is non-zero. Exit 0 means
the evaluator has the notification.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from github import GithubException

from action import gha
from action.assemble import earlier_checks, published_files
from action.checkout import read_files
from action.ciwait import wait_for_runs
from action.config import RunConfig, load
from action.event import BriefSource, read_brief
from action.generate import Generated, generate
from action.llm import OpenRouterClient, RetryPolicy
from action.notify import notify, payload
from action.pages import enable_pages, wait_for_build, wait_live
from action.plan import plan_commit, repo_description
from action.prepare import Prepare
from action.publish import (
    BranchMoved,
    create_repo,
    find_round_commit,
    get_repo,
    is_deployer_commit,
    later_head,
    open_github,
    push_commit,
    token_login,
)
from action.revise import earlier_attachments
from action.verify.report import counts, failures, summary_table
from action.verify.report import describe as describe_result
from action.verify.verifier import Verifier
from action.workflows import (
    assert_not_committed,
    deploys_pages,
    excluded_files,
    push_workflows,
    wants_workflow,
    without_excluded,
)
from deployer.brief import Brief

# A check repair (one more answer, then verification) starts only while this much time is left before the
# deadline: publishing, the Pages build and the notification need the rest.
VERIFY_REPAIR_RESERVE_S = 240.0
# Below this, even the first verification is skipped: the notification matters more.
VERIFY_MIN_LEFT_S = 90.0

# A run whose ref update loses to another run of the same task starts again on top of the new head, this often.
MAX_ROUND_ATTEMPTS = 3


class StageFailed(RuntimeError):
    def __init__(self, stage: str, cause: BaseException):
        self.stage = stage
        self.cause = cause
        super().__init__(f"{stage}: {describe(cause)}")


def describe(exc: BaseException) -> str:
    if isinstance(exc, GithubException):
        message = exc.data.get("message") if isinstance(exc.data, dict) else exc.data
        return f"GitHub answered HTTP {exc.status}: {message}"
    return str(exc) or type(exc).__name__


@dataclass
class Report:
    """What the job summary shows: links, the model and its tokens, and the time of every stage."""

    timings: list[tuple[str, float]] = field(default_factory=list)
    facts: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)  # Markdown blocks after the stage table

    def markdown(self, ok: bool) -> str:
        lines = [f"## {'Deployed' if ok else 'Deployment failed'}: {self.facts.get('task', '(unknown task)')}", ""]
        for key in ("round", "repository", "commit", "workflows", "page", "model", "tokens", "LLM requests",
                    "checks", "live checks", "notified"):
            if key in self.facts:
                lines.append(f"- **{key}**: {self.facts[key]}")
        lines += ["", "| stage | seconds |", "|---|---:|"]
        lines += [f"| {name} | {seconds:.2f} |" for name, seconds in self.timings]
        for section in self.sections:
            lines += ["", section.rstrip("\n")]
        lines += ["", *[f"> {note}" for note in self.notes]]
        return "\n".join(lines).rstrip() + "\n"


class Run:
    def __init__(self, config: RunConfig, log: gha.Log):
        self.config = config
        self.log = log
        self.report = Report()
        self.started = time.time()
        self.verifier: Verifier | None = None

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        began = time.monotonic()
        with self.log.group(name):
            try:
                yield
            except StageFailed:
                raise
            except Exception as exc:
                raise StageFailed(name, exc) from exc
            finally:
                self.report.timings.append((name, time.monotonic() - began))

    def deadline(self, source: BriefSource) -> float:
        start = source.accepted_at.timestamp() if source.accepted_at else self.started
        return start + self.config.deadline_minutes * 60

    def execute(self) -> dict[str, str]:
        try:
            return self._execute()
        finally:
            if self.verifier is not None:
                self.verifier.close()

    def _execute(self) -> dict[str, str]:
        cfg, log = self.config, self.log
        with self.stage("brief"):
            event = json.loads(Path(cfg.event_path).read_text(encoding="utf-8")) if cfg.event_path else None
            source = read_brief(cfg.event_name, event, cfg.brief_input)
            log.mask(source.dropped_secret)
            brief = source.brief
            self.report.facts.update(task=brief.task, round=str(brief.round))
            log.info(f"task {brief.task}, round {brief.round}, nonce {brief.nonce} (from {source.origin}); "
                     f"{len(brief.checks)} checks, {len(brief.attachments)} attachments")
        deadline = self.deadline(source)
        gh = open_github(cfg.github_token, cfg.github_api_url, timeout=cfg.github_timeout)
        with self.stage("repository"):
            login = token_login(gh)
            owner = cfg.owner or login
            repo = get_repo(gh, owner, brief.repo_name)
            existing_sha, head_sha = find_round_commit(repo, brief) if repo is not None else (None, None)
            if repo is None and brief.round > 1:
                self.note(f"round {brief.round}, but {owner}/{brief.repo_name} does not exist: building it fresh")
            log.info(f"{owner}/{brief.repo_name}: " + ("new" if repo is None else f"exists, head {head_sha}"))
        created = repo is None
        generated: Generated | None = None
        pages_type: str | None = None  # None: as the site is (a re-run); "workflow" when our workflow deploys it
        ci_paths: list[str] = []  # the repository's push workflows, whose runs on our commit we wait for
        if existing_sha is not None:
            self.note(f"round {brief.round} with nonce {brief.nonce} is already commit {existing_sha}: "
                      "nothing to generate, notifying again")
            commit_sha = existing_sha
            expected_index = None
        else:
            existing: dict[str, str] = {}
            current: dict[str, bytes] = {}
            previous_meta = None
            if repo is not None and head_sha is not None:
                with self.stage("read repository"):
                    _, current = read_files(repo.clone_url, cfg.github_token, repo.default_branch)
                    existing, previous_meta = published_files(current)
                    log.info(f"{len(current)} files at {head_sha[:12]}")
                if brief.round > 1 and previous_meta is None:
                    self.note(f"round {brief.round}, but {repo.full_name} has no site of ours yet: building it fresh")
            self.prepare_checks(brief, earlier_checks(previous_meta, brief.round), f"/{owner}/{brief.repo_name}/",
                                deadline, {n: d for n, _, d in earlier_attachments(current, previous_meta, brief)})
            with self.stage("generate"):
                client = OpenRouterClient(api_key=cfg.openrouter_key, models=cfg.models,
                                          base_url=cfg.openrouter_base_url, log=log.info)
                given = {a.name: a.decode().data for a in brief.attachments}
                secrets = [s for s in (cfg.github_token, cfg.openrouter_key, source.dropped_secret) if s]
                prepare = Prepare(
                    {**{n: d for n, _, d in earlier_attachments(current, previous_meta, brief)}, **given},
                    secrets=secrets, log=log.info,
                )
                generated = generate(
                    brief, client, owner=owner, year=datetime.now(UTC).year, secrets=secrets,
                    existing=existing, previous_metadata=previous_meta, published=current, log=log.info,
                    soft_check=self.verifier.soft_check if self.verifier else None,
                    repair_allowed=lambda: time.time() < deadline - VERIFY_REPAIR_RESERVE_S,
                    allow_workflows=wants_workflow(brief), prepare=prepare,
                )
                self.record_generation(generated)
                for text in prepare.notes:
                    self.note(text)
            if self.verifier is not None:
                with self.stage("verify"):
                    self.record_verification(self.verifier, generated.site)
            with self.stage("publish"):
                if repo is None:
                    repo = create_repo(gh, owner, login, brief.repo_name, repo_description(brief))
                    _, head_sha = find_round_commit(repo, brief)
                    if head_sha is not None and is_deployer_commit(repo, head_sha):
                        raise BranchMoved(f"another run created {repo.full_name} and published to it meanwhile")
                if head_sha is None:
                    raise RuntimeError(f"{repo.full_name} has no commit on {repo.default_branch} to build on")
                excluded = excluded_files(brief)
                site = without_excluded(generated.site, excluded)
                assert_not_committed(site, excluded)  # files the brief keeps out of the repository
                texts = {p: d.decode("utf-8", "replace") for p, d in site.items() if p.startswith(".github/")}
                ci_paths = push_workflows(texts, repo.default_branch)
                pages_type = "workflow" if deploys_pages(texts) else "legacy"
                if pages_type == "workflow":  # before the push: the push starts the workflow that deploys
                    enable_pages(gh, repo, known_new=created, build_type="workflow")
                commit_sha = push_commit(gh, repo, plan_commit(brief, site), head_sha)
                expected_index = site.get("index.html") if pages_type == "legacy" else None
                log.info(f"commit {commit_sha} on {repo.default_branch}: {len(generated.site)} files")
        self.report.facts.update(repository=repo.html_url, commit=commit_sha)
        if ci_paths:
            with self.stage("workflows"):
                runs = wait_for_runs(gh, repo, commit_sha, ci_paths, deadline=deadline, log=log.info)
                self.report.facts["workflows"] = ", ".join(f"{p} {r.get('conclusion')}" for p, r in runs.items())
        with self.stage("pages"):
            page = enable_pages(gh, repo, known_new=created and pages_type != "workflow", build_type=pages_type)
            pages_url = str(page["html_url"])
            if existing_sha is None or existing_sha == head_sha:
                status, polls, built = wait_for_build(gh, repo, commit_sha, deadline=deadline,
                                                      moved_on=lambda: later_head(repo, commit_sha))
                if built != commit_sha:
                    self.note(f"another run committed {built} on top of {commit_sha} meanwhile; its Pages build, "
                              "which contains this round, is the one served")
                    expected_index = None
                log.info(f"Pages build {status} for {commit_sha[:12]} after {polls} polls")
            requests_made = wait_live(pages_url, expected_index, deadline=deadline, cache_key=commit_sha[:12])
            log.info(f"{pages_url} is live ({requests_made} requests)")
            self.report.facts["page"] = pages_url
        with self.stage("notify"):
            body = payload(email=brief.email, task=brief.task, round=brief.round, nonce=brief.nonce,
                           repo_url=repo.html_url, commit_sha=commit_sha, pages_url=pages_url)
            delivery = notify(brief.evaluation_url, body, deadline=deadline,
                              on_attempt=lambda n, outcome: log.info(f"attempt {n}: {outcome}"))
            self.report.facts["notified"] = f"after {delivery.attempts} attempt(s), HTTP {delivery.status}"
        if generated is None:  # a re-run of a published round: no local verification happened
            self.prepare_checks(brief, [], f"/{owner}/{brief.repo_name}/", deadline)
        if self.verifier is not None:
            with self.stage("live checks"):
                self.live_checks(pages_url, generated.site if generated else None)
        return {"repo-url": repo.html_url, "commit-sha": commit_sha, "pages-url": pages_url}

    def record_generation(self, generated: Generated) -> None:
        stats = generated.stats
        self.report.facts.update(
            model=stats.model,
            tokens=f"{stats.prompt_tokens} prompt + {stats.completion_tokens} completion = {stats.total_tokens}",
        )
        self.report.facts["LLM requests"] = f"{stats.requests} ({stats.repairs} repairs)"
        self.log.info(f"generated {len(generated.site)} files with {stats.model} ({stats.total_tokens} tokens, "
                      f"{stats.repairs} repairs)")

    def prepare_checks(self, brief: Brief, earlier: list[object], prefix: str, deadline: float,
                       earlier_data: Mapping[str, bytes] | None = None) -> None:
        """Plan and translate the checks and start the browser, unless verification is off or time is short."""
        if not self.config.verify or not (brief.checks or earlier):
            return
        if time.time() > deadline - VERIFY_MIN_LEFT_S:
            self.note("verification skipped: the deadline is too near")
            return
        cfg = self.config
        with self.stage("checks"):
            translator = OpenRouterClient(api_key=cfg.openrouter_key, models=cfg.models,
                                          base_url=cfg.openrouter_base_url, log=self.log.info,
                                          retry=RetryPolicy(attempts=2, max_wait=10), timeout=(10.0, 90.0))
            try:
                self.verifier = Verifier.prepare(brief, earlier, llm=translator, prefix=prefix,
                                                 local_only=cfg.verify_local_only, log=self.log.info,
                                                 earlier_attachments=earlier_data)
                self.verifier.deadline = deadline
            except Exception as exc:  # verification helps; it never stops a deployment
                self.note(f"verification skipped: {describe(exc)}")

    def record_verification(self, verifier: Verifier, site: dict[str, bytes]) -> None:
        """The verification of the site kept: counts in the facts, a table in the summary, a warning per failure."""
        verdict = verifier.verdict_for(site)
        if verdict is None:
            return
        results = verdict.results
        copied = f", {len(verdict.copied)} with typed-in figures" if verdict.copied else ""
        self.report.facts["checks"] = (f"{counts(results)}{copied} before publishing, after "
                                       f"{len(verifier.local) - 1} check repair(s) (verification took "
                                       f"{verifier.seconds:.1f}s)")
        for result in failures(results):
            self.note(f"published with a failing check: {describe_result(result)}")
        for problem in verdict.copied_problems:
            self.note(f"published with a typed-in figure: {problem.message}")
        self.report.sections = [summary_table(results, verifier.live)]

    def live_checks(self, pages_url: str, site: dict[str, bytes] | None) -> None:
        """The same checks once on the live page, for the summary; never fails the run."""
        assert self.verifier is not None
        try:
            live = self.verifier.check_live(pages_url, site)
        except Exception as exc:
            self.note(f"live checks could not run: {describe(exc)}")
            return
        self.report.facts["live checks"] = counts(live)
        for result in failures(live):
            self.log.warning(f"live page: {describe_result(result)}")
        kept = self.verifier.verdict_for(site) if site is not None else None
        self.report.sections = [summary_table(kept.results if kept else None, live)]
        self.log.info(f"live checks on {pages_url}: {counts(live)}")

    def note(self, text: str) -> None:
        self.report.notes.append(text)
        self.log.warning(text)


def run(config: RunConfig, log: gha.Log) -> int:
    job = Run(config, log)
    for attempt in range(1, MAX_ROUND_ATTEMPTS + 1):
        try:
            outputs = job.execute()
            break
        except StageFailed as failure:
            if not isinstance(failure.cause, BranchMoved) or attempt == MAX_ROUND_ATTEMPTS:
                return failed(job, log, failure)
            job.note(f"{failure.cause}; starting the round again on top of the new head "
                     f"(attempt {attempt + 1} of {MAX_ROUND_ATTEMPTS})")
    for name, value in outputs.items():
        gha.set_output(name, value)
    gha.append_summary(log.redact(job.report.markdown(ok=True)))
    log.info(f"done: {outputs['pages-url']}")
    return 0


def failed(job: Run, log: gha.Log, failure: StageFailed) -> int:
    """One `::error::` naming the stage, and the failed summary."""
    detail = describe(failure.cause)
    log.error(f"{failure.stage} stage failed: {detail}", title=f"llm-pages-deployer: {failure.stage} failed")
    job.report.notes.append(f"**{failure.stage}** failed: {log.redact(detail)}")
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
