"""Brief -> Site: ask the model, take its answer through the round's edit format, validate, ask again with the
problems (at most `MAX_REPAIRS` times), then assemble. The model client is a parameter: any
`action.llm.ChatClient`.

The edit format is a coder (`action/coders/`): whole files when nothing is published to edit, edit blocks on a
published site. This loop is the same for both: it knows a coder only through the `Coder` protocol.

Soft checks (optional, e.g. the brief's checks run in a browser): once a site passes validation, the check may
return problems; they go back to the model like validation problems, at most `max_repairs` times and only while
`allowed()` (the deadline), and whatever is left is returned in `Generated.unresolved` rather than raised. From then
on the model can only make things better: the site kept is the one with the fewest failing checks
(`action/verify/score.py`; a tie goes to the newer), and a later answer that fails, or no answer at all, gives it
back.

Sites that need more than text (`build`, see `action/lint_and_build.py`): workflows are linted and a declared build
script runs once a site passes validation; its problems (a failing script's stderr) are repaired the same way.

Secrets: the model never sees one (the prompt does not read the brief's secret); what goes back to it in a repair
(its own previous answer, the problem list) has secret-like strings removed; and the assembled site is scanned once
more before it is returned, so a token-like string never reaches a commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from action.assemble import assemble
from action.coders.base import Coder, GenerationError, Session, Stats, redacted
from action.coders.edit_blocks import EditBlockCoder
from action.coders.whole_files import WholeFileCoder
from action.lint_and_build import LintAndBuild
from action.llm import ChatClient, LLMError
from action.plan_text import plan_section
from action.published import Published
from action.round_plan import RoundPlan, plan_round
from action.validate import Problem, find_secrets
from action.verify.score import failing, replaces
from deployer.brief import Brief

__all__ = ["Generated", "GenerationError", "SoftChecks", "Stats", "generate"]

MAX_REPAIRS = 2
MAX_CHECK_REPAIRS = 2
SoftCheck = Callable[[dict[str, bytes]], list[Problem]]


@dataclass(frozen=True)
class SoftChecks:
    """Checks of a site that passed validation; their failures are repaired while `allowed()`, never raised."""

    check: SoftCheck
    max_repairs: int = MAX_CHECK_REPAIRS
    allowed: Callable[[], bool] = lambda: True


@dataclass(frozen=True)
class Generated:
    site: dict[str, bytes]
    files: dict[str, str]  # what the model wrote (over the published files it edited), before assembly
    stats: Stats
    unresolved: list[Problem] = field(default_factory=list)  # soft-check problems left after the repairs


def coder_for(brief: Brief, published: Published, plan: RoundPlan, secrets: Sequence[str],
              log: Callable[[str], None]) -> Coder:
    """Edit blocks when the repository holds files the model wrote, else whole files."""
    if published.model_files:
        return EditBlockCoder(brief, published, secrets, plan.workflows_allowed, log=log, rewritable=plan.rewritable,
                              plan=plan_section(plan), touches=plan.touches)
    readonly = {a.name for a in brief.attachments} - plan.rewritable
    return WholeFileCoder(brief, published.earlier_checks, readonly, secrets, plan.workflows_allowed,
                          plan=plan_section(plan))


def generate(
    brief: Brief, llm: ChatClient, published: Published, plan: RoundPlan | None = None, *, year: int,
    secrets: Iterable[str | None] = (), soft_checks: SoftChecks | None = None, build: LintAndBuild | None = None,
    log: Callable[[str], None] = lambda _message: None,
) -> Generated:
    """The site for `brief` on top of what is `published`, as `plan` (default: the brief's sentence patterns)
    allows; raises GenerationError (problems left) or LLMError (no model answered) unless a site already passed
    validation (see soft checks above)."""
    plan = plan or plan_round(brief, published)
    hidden = [s for s in (*secrets, brief.secret) if s]
    generation = _Generation(brief, published, plan, hidden, soft_checks, build, year, log)
    return generation.run(coder_for(brief, published, plan, hidden, log), Session(llm))


@dataclass
class _Generation:
    brief: Brief
    published: Published
    plan: RoundPlan
    secrets: list[str]
    soft_checks: SoftChecks | None
    build: LintAndBuild | None
    year: int
    log: Callable[[str], None]
    best: Generated | None = None  # the site with the fewest problems so far

    def run(self, coder: Coder, session: Session) -> Generated:
        messages, answers_repaired = coder.first_messages(), 0
        while True:
            try:
                taken = coder.take(session.ask(messages), session)
            except (LLMError, GenerationError) as exc:  # no answer, or one that can never be used
                if self.best is None:
                    raise
                self.log(f"no usable answer to the check repair ({exc}); keeping the last valid site")
                return self.best
            files, problems = self._built(taken.files, taken.problems)
            if problems:
                self.log(f"answer {session.stats.completions} from {taken.completion.model} has {len(problems)} "
                         "problem(s):\n" + "\n".join(f"  {p}" for p in problems))
                if answers_repaired >= MAX_REPAIRS:
                    return self._best_or_raise(problems, session.stats)
                answers_repaired += 1
            else:
                done = self._assembled(coder, files, session.stats)
                if isinstance(done, Generated):
                    return done
                problems = done
            session.stats.repairs += 1
            messages = coder.repair_messages(taken.completion.content, problems)

    def _built(self, files: dict[str, str], problems: list[Problem]) -> tuple[dict[str, str], list[Problem]]:
        """The files after the build step (when the answer had no problems), and the problems."""
        if problems or self.build is None:
            return files, problems
        files, problems = self.build(files)
        return files, redacted(problems, self.secrets)

    def _assembled(self, coder: Coder, files: dict[str, str], stats: Stats) -> Generated | list[Problem]:
        """Assemble the site and check it: the result when generation is over, else the soft-check problems to
        repair (the site is kept as `best` meanwhile)."""
        site = assemble(self.brief, files, owner=self.published.owner, year=self.year,
                        previous=self.published.metadata, secrets=self.secrets, kept=coder.kept,
                        rewritten=self.plan.rewritable)
        attachments = {a.name for a in self.brief.attachments} - self.plan.rewritable
        rebuilt = self.build.last_outputs if self.build is not None else set()
        leaks = [Problem(path, message) for path, data in site.items() if path not in attachments
                 for message in find_secrets(data.decode("utf-8", errors="replace"), self.secrets)]
        leaks += [p for p in coder.regressions(site) if p.path not in rebuilt]
        if leaks:
            return self._best_or_raise(leaks, stats)
        soft = self.soft_checks
        unresolved = redacted(soft.check(site) if soft else [], self.secrets)
        if replaces(unresolved, self.best.unresolved if self.best else None):  # a worse repair keeps the better
            self.best = Generated(site, files, stats, unresolved)
        elif self.best is not None:
            self.log(f"the repaired site fails {failing(unresolved)} check(s), the kept one "
                     f"{failing(self.best.unresolved)}: keeping the better site")
        if not unresolved or soft is None or stats.check_repairs >= soft.max_repairs or not soft.allowed():
            return self.best
        stats.check_repairs += 1
        return unresolved

    def _best_or_raise(self, problems: list[Problem], stats: Stats) -> Generated:
        if self.best is None:
            raise GenerationError(problems, stats)
        return self.best
