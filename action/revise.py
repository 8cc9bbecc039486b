"""Later rounds: revise the published site with edit blocks, and never regress what earlier rounds built.

The model sees the published files, the new brief, every earlier check and the earlier rounds' text attachments
(read-only), and answers with search/replace blocks (`action/edits.py`). Blocks apply strictly. When some fail,
the failures go back with the blocks and the current text near where they were meant to apply (up to
`max_repairs` times); after that the model is asked once for the whole new content of the failing files only.

What may change, concretely: a file changes in this round only if an applied edit block or a whole-file block
targeted it ("the brief mentions it" means "the model edited it"), plus the files code writes every round
(README.md, `.deployer/brief.json`, `.nojekyll`) and this round's attachments (byte for byte). Every other file of
the published tree, earlier attachments, binary files, LICENSE and (unless this brief allows workflows) anything
under `.github/` included, is committed again with the same bytes (so the same blob), and nothing published
disappears; `regressions` checks this on the assembled site.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from string import Template
from typing import TYPE_CHECKING, Any

from action.assemble import METADATA_PATH, is_reserved
from action.edits import Answer, Failure, apply_answer, parse_answer
from action.llm import Completion
from action.parse import ParseError
from action.prompt import Message, brief_reminder, build_messages, follow_up, load, problem_sections
from action.validate import Problem, ProblemKind, redact_secrets, validate
from deployer.brief import Brief

if TYPE_CHECKING:
    from action.generate import ChatModel, Stats

REWRITTEN = frozenset({"README.md", METADATA_PATH, ".nojekyll"})  # code writes these again every round


def earlier_attachments(published: Mapping[str, bytes], meta: Mapping[str, Any] | None,
                        brief: Brief) -> list[tuple[str, int, bytes]]:
    """(name, round, bytes) of the attachments of other rounds still in the repository (this round's win)."""
    mine = {a.name for a in brief.attachments}
    found: dict[str, tuple[str, int, bytes]] = {}
    for entry in (meta or {}).get("rounds", []):
        if not isinstance(entry, dict) or entry.get("round") == brief.round:
            continue
        for name in entry.get("attachments", []):
            if isinstance(name, str) and name in published and name not in mine:
                found[name] = (name, int(entry.get("round", 0)), published[name])
    return list(found.values())


@dataclass
class Revision:
    """One later round's edit conversation and its working copy of the model's files."""

    brief: Brief
    existing: Mapping[str, str]  # the model's files as published
    published: Mapping[str, bytes]  # the whole published tree
    earlier_checks: Sequence[object]
    earlier_attachments: Sequence[tuple[str, int, bytes]]
    secrets: Sequence[str]
    allow_workflows: bool = False
    node: str | None = None
    max_repairs: int = 2
    log: Callable[[str], None] = lambda _message: None
    files: dict[str, str] = field(init=False)
    changed: set[str] = field(init=False, default_factory=set)

    def __post_init__(self) -> None:
        if not self.allow_workflows:  # not this round's to edit: carried over like an attachment
            self.existing = {p: c for p, c in self.existing.items() if not p.startswith(".github/")}
        self.files = dict(self.existing)

    @property
    def kept(self) -> dict[str, bytes]:
        """Published files the model does not edit, committed again unchanged."""
        return {p: d for p, d in self.published.items() if p not in self.existing and p not in REWRITTEN}

    def first_messages(self) -> list[Message]:
        return self._messages()

    def take(self, llm: ChatModel, completion: Completion, stats: Stats) -> tuple[Completion, dict[str, str],
                                                                                  list[Problem]]:
        """Apply an answer; while blocks fail, ask again (edit repairs, then whole files once; GenerationError when
        even those do not come). The last answer, the working files and their validation problems."""
        edit_repairs, whole_files, required = 0, False, set[str]()
        while True:
            problems, failures = self._apply(completion.content, stats, required)
            if not problems:
                break
            self.log(f"answer {stats.completions}: {len(problems)} change(s) did not apply:\n"
                     + "\n".join(f"  {p}" for p in problems))
            if whole_files:
                from action.generate import GenerationError  # generate imports this module

                raise GenerationError(problems, stats)
            stats.repairs += 1
            if edit_repairs < self.max_repairs:
                edit_repairs += 1
                messages = self.repair_messages(completion.content, problems, failures)
            else:
                whole_files = True
                required = {f.block.path for f in failures} or set(self.existing)
                messages = self._whole_files_messages(completion.content, problems, sorted(required))
            completion = llm.complete(messages)
            stats.add(completion)
        found = validate(self.files, attachments=self._readonly(), secrets=self.secrets,
                         allow_workflows=self.allow_workflows, node=self.node)
        return completion, dict(self.files), [self._clean(p) for p in found]

    def repair_messages(self, answer: str, problems: Sequence[Problem],
                        failures: Sequence[Failure] = ()) -> list[Message]:
        """Ask for edit blocks that fix `problems`, against the files as they are now."""
        details = "".join(
            f"\n<failed-block>\n{self._redact(f.block.text())}\n</failed-block>\n"
            + (f'<current path="{f.block.path}">\n{self._redact(f.context)}\n</current>\n' if f.context else "")
            for f in failures
        )
        text = Template(load("edit-repair.md")).substitute(sections=problem_sections(problems), details=details)
        return follow_up(self._messages(), self._redact(answer), text.rstrip("\n") + "\n\n"
                         + brief_reminder(self.brief))

    def regressions(self, site: Mapping[str, bytes]) -> list[Problem]:
        """Published files that changed or vanished without an edit, and attachments that are not byte-exact."""
        allowed = self.changed | REWRITTEN | {a.name for a in self.brief.attachments}
        problems = [
            Problem(path, "was published in an earlier round and is missing") if path not in site
            else Problem(path, "changed although no edit targeted it")
            for path, data in sorted(self.published.items()) if path not in allowed and site.get(path) != data
        ]
        problems += [Problem(a.name, "is not the attachment byte for byte") for a in self.brief.attachments
                     if site.get(a.name) != a.decode().data]
        return problems

    def _messages(self) -> list[Message]:
        return build_messages(self.brief, self.files, self.earlier_checks,
                              earlier_attachments=self.earlier_attachments, edits=True)

    def _apply(self, content: str, stats: Stats, required: set[str]) -> tuple[list[Problem], list[Failure]]:
        try:
            answer = parse_answer(content)
        except ParseError as exc:
            return [self._clean(Problem("(answer)", str(exc)))], []
        answer = self._drop_reserved(answer, stats)
        readonly = self._readonly()
        refused = sorted({e.path for e in answer.edits if e.path in readonly} | (set(answer.files) & readonly))
        answer = Answer([e for e in answer.edits if e.path not in readonly],
                        {p: c for p, c in answer.files.items() if p not in readonly})
        applied = apply_answer(self.files, answer)
        self.files = applied.files
        self.changed |= applied.changed
        edit = ProblemKind.EDIT
        problems = [Problem(p, "is an attachment, committed as-is and read-only; do not write it", edit)
                    for p in refused]
        problems += [Problem(f.block.path, f.message, edit) for f in applied.failures]
        missing = sorted(required - set(answer.files))
        problems += [Problem(p, "was asked for as a whole file and not sent", edit) for p in missing]
        return [self._clean(p) for p in problems], list(applied.failures)

    def _readonly(self) -> set[str]:
        """This round's attachments and the published files the model does not edit (earlier attachments...)."""
        return {a.name for a in self.brief.attachments} | set(self.kept)

    def _drop_reserved(self, answer: Answer, stats: Stats) -> Answer:
        """Files code writes are not the model's: blocks for them are ignored, as in round 1."""
        for path in [e.path for e in answer.edits] + list(answer.files):
            if is_reserved(path) and path not in stats.ignored:
                stats.ignored.append(path)
        return Answer([e for e in answer.edits if not is_reserved(e.path)],
                      {p: c for p, c in answer.files.items() if not is_reserved(p)})

    def _whole_files_messages(self, answer: str, problems: Sequence[Problem], paths: Sequence[str]) -> list[Message]:
        current = "".join(f'<current path="{p}">\n{self._redact(self.files[p])}\n</current>\n'
                          for p in paths if p in self.files)
        text = Template(load("whole-files.md")).substitute(problems=_listed(problems), paths=", ".join(paths),
                                                           current=current)
        return follow_up(self._messages(), self._redact(answer), text.rstrip("\n") + "\n\n"
                         + brief_reminder(self.brief))

    def _redact(self, text: str) -> str:
        return redact_secrets(text, self.secrets)

    def _clean(self, problem: Problem) -> Problem:
        return problem.redacted(self.secrets)


def _listed(problems: Sequence[Problem]) -> str:
    return "\n".join(f"- {p}" for p in problems)
