"""Edit blocks: a later round revises the published site with search/replace blocks (`action/edits.py` parses and
applies them; the format is taught by `prompts/edit.md`, block repairs by `prompts/edit-repair.md`, the last resort
by `prompts/whole-files.md`). Never regress what earlier rounds built.

The model sees the new brief, every earlier check, the earlier rounds' text attachments (read-only) and the
published files: whole those the change needs (`action/outline.needed_files`), the others as outlines; it answers
with blocks. Blocks apply strictly. When some fail, the failures go back with the blocks and the current text near
where they were meant to apply (up to `max_repairs` times), and a file the model edited from its outline is sent
whole from then on; after that the model is asked once for the whole new content of the failing files only.

A weaker model (`Completion.strong` false, see `deployer/models.py`) is asked for whole files instead: every
published file whole, and its answer's files replace those it names.

What may change, concretely: a file changes in this round only if an applied edit block or a whole-file block
targeted it ("the brief mentions it" means "the model edited it"), plus the files code writes every round
(README.md, `.deployer/brief.json`, `.nojekyll`) and this round's attachments (byte for byte, except those the round
plan lets the model rewrite: `rewritable`, which it edits like its own files). Every other file of
the published tree, earlier attachments, binary files, LICENSE and (unless this round allows workflows) anything
under `.github/` included, is committed again with the same bytes (so the same blob), and nothing published
disappears; `regressions` checks this on the assembled site.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from string import Template

from action.assemble import METADATA_PATH, is_reserved
from action.coders.base import GenerationError, Request, Session, Taken, redacted
from action.edits import Answer, Failure, apply_answer, parse_answer, resolve_path
from action.llm import Completion, Messages
from action.outline import needed_files
from action.parse import ParseError, parse_files
from action.prompt import Sections, brief_reminder, build_messages, follow_up, load, problem_sections
from action.published import Published
from action.validate import Problem, ProblemKind, redact_secrets, validate
from deployer.brief import Brief, DataURIError
from deployer.models import Model

REWRITTEN = frozenset({"README.md", METADATA_PATH, ".nojekyll"})  # code writes these again every round
MAX_EDIT_REPAIRS = 2


@dataclass
class EditBlockCoder:
    """One later round's edit conversation and its working copy of the model's files."""

    brief: Brief
    published: Published
    secrets: Sequence[str] = ()
    allow_workflows: bool = False
    max_repairs: int = MAX_EDIT_REPAIRS  # edit repairs before the whole-files request
    log: Callable[[str], None] = lambda _message: None
    touches: Collection[str] = ()  # the files the round plan says the change touches: sent whole too
    rewritable: frozenset[str] = frozenset()  # this round's attachments the brief asks to fix (the round plan)
    plan: str = ""  # the prompt's round-plan section
    existing: dict[str, str] = field(init=False)  # the model's files as published, those it may edit
    files: dict[str, str] = field(init=False)
    changed: set[str] = field(init=False, default_factory=set)
    fixing: set[str] = field(init=False, default_factory=set)  # the rewritable attachments it edits
    shown: set[str] = field(init=False)  # the files sent whole to a model that edits with blocks
    sections: Sections = field(init=False)

    def __post_init__(self) -> None:
        self.existing = {p: c for p, c in self.published.model_files.items()
                         if self.allow_workflows or not p.startswith(".github/")}  # else carried over, as attachments
        fixable = self._fixable()
        self.existing.update(fixable)
        self.files = dict(self.existing)
        self.fixing = set(fixable)
        needed = needed_files(self.brief.brief, self.brief.checks, self.existing) | set(self.touches)
        self.shown = (needed | self.fixing) & set(self.existing)  # a file to fix is always sent whole
        self.sections = Sections.of(self.brief, self.existing, workflows=self.allow_workflows)

    def _fixable(self) -> dict[str, str]:
        """The text of each attachment the model may rewrite: it edits it with blocks, like its own files."""
        fixable = {}
        for attachment in self.brief.attachments:
            if attachment.name in self.rewritable:
                try:
                    fixable[attachment.name] = attachment.decode().data.decode("utf-8")
                except (DataURIError, UnicodeDecodeError):
                    continue  # not text: committed as it is
        return fixable

    @property
    def kept(self) -> dict[str, bytes]:
        """Published files the model does not edit, committed again unchanged."""
        return {p: d for p, d in self.published.files.items() if p not in self.existing and p not in REWRITTEN}

    def first_messages(self) -> Request:
        return self._messages

    def _messages(self, model: Model) -> Messages:
        """The first request as `model` gets it: edit blocks on the files as they are now, or whole files."""
        return build_messages(self.brief, self.files, self.published.earlier_checks,
                              earlier_attachments=self.published.earlier_attachments, edits=model.strong,
                              shown=self.shown, sections=self.sections, plan=self.plan)

    def take(self, completion: Completion, session: Session) -> Taken:
        """Apply an answer; while blocks fail, ask again (edit repairs, then whole files once; GenerationError when
        even those do not come). The last answer, the working files and their validation problems."""
        edit_repairs, whole_files, required = 0, False, set[str]()
        while True:
            problems, failures = self._apply(completion, session, required)
            if not problems:
                break
            self.log(f"answer {session.stats.completions}: {len(problems)} change(s) did not apply:\n"
                     + "\n".join(f"  {p}" for p in problems))
            if whole_files:
                raise GenerationError(problems, session.stats)
            if edit_repairs < self.max_repairs:
                edit_repairs += 1
                messages = self._repair_messages(completion.content, problems, failures)
            else:
                whole_files = True
                required = {f.block.path for f in failures} or set(self.existing)
                messages = self._whole_files_messages(completion.content, problems, sorted(required))
            completion = session.ask_again(messages)
        found = validate(self.files, attachments=self._readonly(), secrets=self.secrets,
                         allow_workflows=self.allow_workflows)
        return Taken(completion, dict(self.files), redacted(found, self.secrets))

    def repair_messages(self, answer: str, problems: Sequence[Problem]) -> Request:
        """Ask for edit blocks (whole files of a weaker model) that fix `problems`, against the files as they are
        now."""
        return self._repair_messages(answer, problems, ())

    def regressions(self, site: Mapping[str, bytes]) -> list[Problem]:
        """Published files that changed or vanished without an edit, and attachments that are not byte-exact."""
        allowed = self.changed | REWRITTEN | {a.name for a in self.brief.attachments}
        exact = [a for a in self.brief.attachments if a.name not in self.fixing]
        problems = [
            Problem(path, "was published in an earlier round and is missing") if path not in site
            else Problem(path, "changed although no edit targeted it")
            for path, data in sorted(self.published.files.items()) if path not in allowed and site.get(path) != data
        ]
        problems += [Problem(a.name, "is not the attachment byte for byte") for a in exact
                     if site.get(a.name) != a.decode().data]
        return problems

    def _repair_messages(self, answer: str, problems: Sequence[Problem], failures: Sequence[Failure]) -> Request:
        details = "".join(
            f"\n<failed-block>\n{self._redact(f.block.text())}\n</failed-block>\n"
            + (f'<current path="{f.block.path}">\n{self._redact(f.context)}\n</current>\n' if f.context else "")
            for f in failures
        )
        said = problem_sections(problems)
        edits = Template(load("edit-repair.md")).substitute(sections=said, details=details)
        return self._follow_up(answer, edits, Template(load("repair.md")).substitute(sections=said))

    def _whole_files_messages(self, answer: str, problems: Sequence[Problem], paths: Sequence[str]) -> Request:
        current = "".join(f'<current path="{p}">\n{self._redact(self.files[p])}\n</current>\n'
                          for p in paths if p in self.files)
        text = Template(load("whole-files.md")).substitute(problems=_listed(problems), paths=", ".join(paths),
                                                           current=current)
        return self._follow_up(answer, text, text)

    def _follow_up(self, answer: str, text: str, whole_files_text: str) -> Request:
        """The follow-up as the model it goes to gets it: `text`, or `whole_files_text` for a weaker model."""
        redacted_answer = self._redact(answer)

        def messages(model: Model) -> Messages:
            said = text if model.strong else whole_files_text
            return follow_up(self._messages(model), redacted_answer,
                             said.rstrip("\n") + "\n\n" + brief_reminder(self.brief))
        return messages

    def _apply(self, completion: Completion, session: Session,
               required: set[str]) -> tuple[list[Problem], list[Failure]]:
        """Apply an answer: edit blocks and files, or (a weaker model's) whole files only."""
        try:
            answer = parse_answer(completion.content) if completion.strong else Answer(
                files=parse_files(completion.content))
        except ParseError as exc:
            return redacted([Problem("(answer)", str(exc))], self.secrets), []
        session.stats.ignore_reserved([e.path for e in answer.edits] + list(answer.files))
        answer = _without(answer, is_reserved)  # files code writes are not the model's, as in round 1
        readonly = self._readonly()
        refused = sorted({e.path for e in answer.edits if e.path in readonly} | (set(answer.files) & readonly))
        answer = _without(answer, readonly.__contains__)
        applied = apply_answer(self.files, answer)
        self.files = applied.files
        self.changed |= applied.changed
        edit = ProblemKind.EDIT
        problems = [Problem(p, "is an attachment, committed as-is and read-only; do not write it", edit)
                    for p in refused]
        problems += [Problem(f.block.path, f.message + self._show(f.block.path), edit) for f in applied.failures]
        missing = sorted(required - set(answer.files))
        problems += [Problem(p, "was asked for as a whole file and not sent", edit) for p in missing]
        return redacted(problems, self.secrets), list(applied.failures)

    def _show(self, path: str) -> str:
        """Send a file the model edited from its outline whole from now on; what to tell the model about it."""
        known = resolve_path(path, self.existing) if path else None
        if known is None or known in self.shown:
            return ""
        self.shown.add(known)
        return f" ({known} was shown as an outline; it is now shown whole in the first message)"

    def _readonly(self) -> set[str]:
        """This round's attachments (but those it may rewrite) and the published files the model does not edit
        (earlier attachments...)."""
        return ({a.name for a in self.brief.attachments} - self.fixing) | set(self.kept)

    def _redact(self, text: str) -> str:
        return redact_secrets(text, self.secrets)


def _without(answer: Answer, dropped: Callable[[str], bool]) -> Answer:
    return replace(answer, edits=[e for e in answer.edits if not dropped(e.path)],
                   files={p: c for p, c in answer.files.items() if not dropped(p)})


def _listed(problems: Sequence[Problem]) -> str:
    return "\n".join(f"- {p}" for p in problems)
