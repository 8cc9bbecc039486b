"""Whole files: the model answers with every file of the site (`action/parse.py` reads them; the format is taught by
`prompts/files.md`, repairs by `prompts/repair.md`). The format of a first round, when nothing is published to edit.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from action.assemble import is_reserved
from action.coders.base import Session, Taken, redacted
from action.llm import Completion
from action.parse import ParseError, parse_files
from action.prompt import Message, Sections, build_messages, repair_messages
from action.validate import Problem, redact_secrets, validate
from deployer.brief import Brief


@dataclass
class WholeFileCoder:
    brief: Brief
    earlier_checks: Sequence[object] = ()
    readonly: Collection[str] = ()  # attachments the model must not write (committed byte for byte)
    secrets: Sequence[str] = ()
    allow_workflows: bool = False
    kept: Mapping[str, bytes] = field(default_factory=dict)  # nothing published is carried over
    plan: str = ""  # the prompt's round-plan section

    @property
    def sections(self) -> Sections:
        return Sections.of(self.brief, workflows=self.allow_workflows)

    def first_messages(self) -> list[Message]:
        return build_messages(self.brief, {}, self.earlier_checks, sections=self.sections, plan=self.plan)

    def take(self, completion: Completion, session: Session) -> Taken:
        try:
            parsed = parse_files(completion.content)
        except ParseError as exc:
            return Taken(completion, {}, redacted([Problem("(answer)", str(exc))], self.secrets))
        session.stats.ignore_reserved(parsed)
        files = {p: c for p, c in parsed.items() if not is_reserved(p)}
        problems = validate(files, attachments=set(self.readonly), secrets=self.secrets,
                            allow_workflows=self.allow_workflows)
        return Taken(completion, files, redacted(problems, self.secrets))

    def repair_messages(self, answer: str, problems: Sequence[Problem]) -> list[Message]:
        return repair_messages(self.brief, redact_secrets(answer, self.secrets), problems, {},
                               self.earlier_checks, sections=self.sections, plan=self.plan)

    def regressions(self, site: Mapping[str, bytes]) -> list[Problem]:
        return []
