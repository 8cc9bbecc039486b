"""What every edit format shares: the running totals of one generation, its error, and the `Coder` protocol that
each format's module implements for the loop in `action/generate.py`. The model is any `action.llm.ChatClient`.

A coder knows its format only: the first request, how an answer becomes files (asking again itself while its own
answer cannot be used, as edit blocks that do not apply), the problems of those files, the request that repairs
them, and which published files it leaves as they are. Everything else (the build step, assembly, secrets, soft
checks, keeping the best site) is the loop's, the same for every format.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from action.assemble import is_reserved
from action.llm import ChatClient, Completion, MessageBuilder, Messages, Usage
from action.validate import Problem

# A request: the messages, or a function of the model they go to (a weaker model is asked for whole files).
Request = Messages | MessageBuilder


@dataclass
class Stats:
    model: str = ""  # the model of the last answer
    usage: Usage = field(default_factory=Usage)  # the answers' usage, summed (cached tokens, cost)
    completions: int = 0  # answers received: 1 + repairs
    requests: int = 0  # HTTP attempts behind them, retries included
    continuations: int = 0  # requests that continued an answer cut at max_tokens
    repairs: int = 0  # every repair request, check repairs included
    check_repairs: int = 0  # repairs asked for by the soft check
    skipped: dict[str, str] = field(default_factory=dict)  # configured model -> why it did not answer (first reason)
    ignored: list[str] = field(default_factory=list)  # reserved paths the model wrote; code writes those

    def add(self, completion: Completion) -> None:
        self.model = completion.model
        self.usage += completion.usage
        self.completions += 1
        self.requests += completion.attempts
        self.continuations += completion.continuations
        for failure in completion.skipped:
            self.skipped.setdefault(failure.model, failure.reason)

    def ignore_reserved(self, paths: Iterable[str]) -> None:
        """Note the paths code writes (README, LICENSE...) that the model wrote anyway; they are dropped."""
        self.ignored += [p for p in dict.fromkeys(paths) if is_reserved(p) and p not in self.ignored]


class GenerationError(RuntimeError):
    """The model's last answer still had problems after every repair; `problems` says which."""

    def __init__(self, problems: list[Problem], stats: Stats):
        self.problems = problems
        self.stats = stats
        listed = "; ".join(str(p) for p in problems)
        super().__init__(f"the generated site still has {len(problems)} problem(s) after {stats.repairs} "
                         f"repair(s): {listed}")


@dataclass
class Session:
    """The model and the totals of one generation: the loop and a coder's own follow-up requests ask through it."""

    llm: ChatClient
    stats: Stats = field(default_factory=Stats)

    def ask(self, messages: Request) -> Completion:
        completion = self.llm.complete(messages)
        self.stats.add(completion)
        return completion

    def ask_again(self, messages: Request) -> Completion:
        """A repair request: counted as one."""
        self.stats.repairs += 1
        return self.ask(messages)


@dataclass(frozen=True)
class Taken:
    """An answer taken by a coder: the last answer (a coder may have asked again), the model's files, their
    problems (free of secrets)."""

    completion: Completion
    files: dict[str, str]
    problems: list[Problem]


class Coder(Protocol):
    """One edit format."""

    @property
    def kept(self) -> Mapping[str, bytes]:
        """Published files the model does not write, committed again byte for byte."""
        ...

    def first_messages(self) -> Request: ...

    def take(self, completion: Completion, session: Session) -> Taken:
        """The files an answer gives and their problems; GenerationError when the answer can never be used."""
        ...

    def repair_messages(self, answer: str, problems: Sequence[Problem]) -> Request:
        """The request that asks to fix `problems` of the files `answer` gave."""
        ...

    def regressions(self, site: Mapping[str, bytes]) -> list[Problem]:
        """What the assembled site lost or changed that this format promises to keep."""
        ...


def redacted(problems: Iterable[Problem], secrets: Sequence[str]) -> list[Problem]:
    return [p.redacted(secrets) for p in problems]
