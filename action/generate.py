"""Brief -> Site: prompt, ask the model, parse, validate, ask again with the problems (at most `max_repairs` times),
then assemble. The model client is a parameter, so any `complete(messages) -> Completion` works.

Soft checks (optional, e.g. the brief's checks run in a browser): once a site passes validation, `soft_check(site)`
may return problems; they go back to the model like validation problems, at most `max_check_repairs` times and only
while `repair_allowed()` (the deadline), and whatever is left is returned in `Generated.unresolved` rather than
raised. From then on the model can only make things better: the site kept is the one with the fewest failing checks
(`action/verify/score.py`; a tie goes to the newer), and a later answer that fails, or no answer at all, gives it
back.

Sites that need more than text (`prepare`, see `action/prepare.py`): workflows are linted and a declared build
script runs once a site passes validation; its problems (a failing script's stderr) are repaired the same way.

Secrets: the model never sees one (the prompt does not read the brief's secret); what goes back to it in a repair
(its own previous answer, the problem list) has secret-like strings removed; and the assembled site is scanned once
more before it is returned, so a token-like string never reaches a commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from action.assemble import assemble, earlier_checks, is_reserved
from action.llm import Completion, LLMError
from action.parse import ParseError, parse_files
from action.prepare import Prepare
from action.prompt import build_messages, repair_messages
from action.revise import Revision, earlier_attachments
from action.validate import Problem, find_secrets, redact_secrets, validate
from action.verify.score import failing, replaces
from action.workflows import fixable_attachments
from deployer.brief import Brief

MAX_REPAIRS = 2
MAX_CHECK_REPAIRS = 2
SoftCheck = Callable[[dict[str, bytes]], list[Problem]]


class ChatModel(Protocol):
    def complete(self, messages: list[dict[str, Any]]) -> Completion: ...


@dataclass
class Stats:
    model: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    completions: int = 0  # answers received: 1 + repairs
    requests: int = 0  # HTTP attempts behind them, retries included
    repairs: int = 0  # every repair request, check repairs included
    check_repairs: int = 0  # repairs asked for by the soft check
    ignored: list[str] = field(default_factory=list)  # reserved paths the model wrote; code writes those

    def add(self, completion: Completion) -> None:
        self.model = completion.model
        self.prompt_tokens += completion.usage.prompt_tokens
        self.completion_tokens += completion.usage.completion_tokens
        self.total_tokens += completion.usage.total_tokens
        self.completions += 1
        self.requests += completion.attempts


@dataclass(frozen=True)
class Generated:
    site: dict[str, bytes]
    files: dict[str, str]  # what the model wrote (merged over `existing`), before assembly
    stats: Stats
    unresolved: list[Problem] = field(default_factory=list)  # soft-check problems left after the repairs


class GenerationError(RuntimeError):
    """The model's last answer still had problems after every repair; `problems` says which."""

    def __init__(self, problems: list[Problem], stats: Stats):
        self.problems = problems
        self.stats = stats
        listed = "; ".join(str(p) for p in problems)
        super().__init__(f"the generated site still has {len(problems)} problem(s) after {stats.repairs} "
                         f"repair(s): {listed}")


def generate(
    brief: Brief,
    llm: ChatModel,
    *,
    owner: str,
    year: int,
    secrets: Iterable[str | None] = (),
    existing: Mapping[str, str] | None = None,
    previous_metadata: Mapping[str, Any] | None = None,
    published: Mapping[str, bytes] | None = None,
    allow_workflows: bool = False,
    max_repairs: int = MAX_REPAIRS,
    node: str | None = None,
    log: Callable[[str], None] = lambda _message: None,
    soft_check: SoftCheck | None = None,
    max_check_repairs: int = MAX_CHECK_REPAIRS,
    repair_allowed: Callable[[], bool] = lambda: True,
    prepare: Prepare | None = None,
) -> Generated:
    """The site for `brief`; raises GenerationError (problems left) or LLMError (no model answered) unless a site
    already passed validation (see soft checks above). `prepare` (workflow lint, build step) runs on files that
    passed validation; its problems are repaired like validation problems."""
    secret_values = [s for s in (*secrets, brief.secret) if s]
    fixable = fixable_attachments(brief)  # attachments the brief asks to fix: the model may rewrite them
    attachments = {a.name for a in brief.attachments} - fixable
    stats = Stats()
    existing = dict(existing or {})
    earlier = earlier_checks(previous_metadata, brief.round)
    # A later round with a published site edits it (action/revise.py); `published` is the whole tree read back.
    revision = Revision(
        brief, existing, published or {p: c.encode("utf-8") for p, c in existing.items()}, earlier,
        earlier_attachments(published or {}, previous_metadata, brief), secret_values, allow_workflows, node,
        max_repairs, log,
    ) if existing else None
    messages = revision.first_messages() if revision else build_messages(brief, existing, earlier)
    best: Generated | None = None  # the last site that passed validation
    static_repairs = 0
    while True:
        try:
            completion = llm.complete(messages)
        except LLMError as exc:
            if best is None:
                raise
            log(f"no answer to the check repair ({exc}); keeping the last valid site")
            return best
        stats.add(completion)
        if revision is not None:
            try:
                completion, files, problems = revision.take(llm, completion, stats)
            except GenerationError:  # edits that never applied, even as whole files
                if best is None:
                    raise
                log("the edits of the check repair did not apply; keeping the last valid site")
                return best
        else:
            files, problems = _check(completion.content, existing, attachments, secret_values, allow_workflows,
                                     node, stats)
        rebuilt: set[str] = set()
        if not problems and prepare is not None:
            files, problems = prepare(files)
            problems = [p.redacted(secret_values) for p in problems]
            rebuilt = prepare.last_outputs
        if not problems:
            site = assemble(brief, files, owner=owner, year=year, previous=previous_metadata, secrets=secret_values,
                            kept=revision.kept if revision else None, rewritten=fixable)
            leaks = [
                Problem(path, message) for path, data in site.items() if path not in attachments
                for message in find_secrets(data.decode("utf-8", errors="replace"), secret_values)
            ] + [p for p in (revision.regressions(site) if revision else []) if p.path not in rebuilt]
            if leaks:
                if best is not None:
                    return best
                raise GenerationError(leaks, stats)
            unresolved = [p.redacted(secret_values) for p in (soft_check(site) if soft_check else [])]
            if replaces(unresolved, best.unresolved if best else None):  # a worse repair keeps the better site
                best = Generated(site, files, stats, unresolved)
            elif best is not None:
                log(f"the repaired site fails {failing(unresolved)} check(s), the kept one {failing(best.unresolved)}: "
                    "keeping the better site")
            if not unresolved or stats.check_repairs >= max_check_repairs or not repair_allowed():
                return best
            stats.check_repairs += 1
            problems = unresolved
        else:
            log(f"answer {stats.completions} from {completion.model} has {len(problems)} problem(s):\n"
                + "\n".join(f"  {p}" for p in problems))
            if static_repairs >= max_repairs:
                if best is not None:
                    return best
                raise GenerationError(problems, stats)
            static_repairs += 1
        stats.repairs += 1
        messages = revision.repair_messages(completion.content, problems) if revision else repair_messages(
            brief, redact_secrets(completion.content, secret_values), problems, existing, earlier,
        )


def _check(
    answer: str,
    existing: Mapping[str, str],
    attachments: set[str],
    secrets: list[str],
    allow_workflows: bool,
    node: str | None,
    stats: Stats,
) -> tuple[dict[str, str], list[Problem]]:
    """The files of an answer (over the existing ones) and their problems; messages are free of secrets."""
    try:
        parsed = parse_files(answer)
    except ParseError as exc:
        return {}, [Problem("(answer)", redact_secrets(str(exc), secrets))]
    for path in parsed:
        if is_reserved(path) and path not in stats.ignored:
            stats.ignored.append(path)
    files = {**existing, **{p: c for p, c in parsed.items() if not is_reserved(p)}}
    problems = validate(files, attachments=attachments, secrets=secrets, allow_workflows=allow_workflows, node=node)
    return files, [p.redacted(secrets) for p in problems]
