"""What a round does with its inputs, decided once before generation: `RoundPlan`. Pure.

A plain value, so that any planner can fill it: the model's plan (`action/planner.py`, validated against the brief)
or, when that fails, `plan_round` from the brief's sentences (`action/brief_patterns.py`) and the published state.
Generation follows it (which attachments the model may rewrite, whether it may write workflows, the plan section of
its prompt), the commit plan keeps `excluded` out, and verification compares only kept attachments byte for byte.
Decisions that depend on the generated site itself (which workflows a push starts, how Pages builds it) are made on
the commit plan (`action/plan.py`), once the site exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from action.brief_patterns import (
    build_step,
    excluded_files,
    files_named,
    fixable_attachments,
    kept_as_is,
    named_strings,
    rewrite_sentence,
    wants_workflow,
    workflow_sentence,
)
from action.published import Published
from deployer.brief import Brief

Use = Literal["keep", "rewrite", "data"]
USES: tuple[Use, ...] = ("keep", "rewrite", "data")


@dataclass(frozen=True)
class AttachmentUse:
    """One attachment's part in the round: committed byte for byte as the brief asks (`keep`), rewritten by the
    model (`rewrite`, with `quote`: the brief's words that ask for it), or input the app reads (`data`, also
    committed byte for byte)."""

    name: str
    use: Use = "data"
    quote: str = ""


@dataclass(frozen=True)
class NamedString:
    """A string the brief names exactly (a title, a heading, an element id), used as written; `checks` are the
    indexes of the checks that read it."""

    text: str
    kind: str = "text"
    checks: tuple[int, ...] = ()


@dataclass(frozen=True)
class RoundPlan:
    """What this round may do; the defaults are the most conservative round (nothing special asked)."""

    workflows_allowed: bool = False  # the model may write `.github/workflows/*` (the brief asks for CI)
    workflow: str = ""  # what that CI must do, in the plan's words
    excluded: frozenset[str] = frozenset()  # files the brief keeps out of the repository: never committed
    attachments: tuple[AttachmentUse, ...] = ()  # this round's attachments; any not listed is `data`
    build: str = ""  # the build step the site needs (data to fetch or convert), "" for none
    files: tuple[str, ...] = ()  # the files the app needs, as planned (a hint for generation)
    named: tuple[NamedString, ...] = ()
    touches: tuple[str, ...] = ()  # later rounds: the published files the change touches (empty: not known)
    site_prefix: str = "/"  # the path Pages serves the site under, so local verification serves it there too

    @property
    def rewritable(self) -> frozenset[str]:
        """Attachments the model may rewrite; the others go in byte for byte."""
        return frozenset(a.name for a in self.attachments if a.use == "rewrite")

    def use_of(self, name: str) -> AttachmentUse:
        return next((a for a in self.attachments if a.name == name), AttachmentUse(name))


def plan_round(brief: Brief, published: Published) -> RoundPlan:
    """The plan the brief's sentences give (see `action/brief_patterns.py` for what they can and cannot read)."""
    rewrite, keep = fixable_attachments(brief), kept_as_is(brief)
    excluded = excluded_files(brief)
    uses = tuple(
        AttachmentUse(a.name, "rewrite", rewrite_sentence(brief, a.name)) if a.name in rewrite
        else AttachmentUse(a.name, "keep" if a.name in keep else "data") for a in brief.attachments
    )
    attachments = {a.name for a in brief.attachments}
    wanted = wants_workflow(brief)
    return RoundPlan(
        workflows_allowed=wanted,
        workflow=workflow_sentence(brief) if wanted else "",
        excluded=frozenset(excluded),
        attachments=uses,
        build=build_step(brief),
        files=tuple(dict.fromkeys(["index.html", *(n for n in files_named(brief)
                                                    if n not in attachments and n not in excluded)])),
        named=tuple(NamedString(text, kind, checks) for text, kind, checks in named_strings(brief)),
        touches=tuple(n for n in files_named(brief) if n in published.model_files),
        site_prefix=site_prefix(published.owner, published.name),
    )


def site_prefix(owner: str, repo: str) -> str:
    """Where Pages serves a repository's site on its owner's host: a user or organization site (the repository
    `<owner>.github.io`) at `/`, a project site at `/<repo>/`."""
    # docs.github.com/en/pages/getting-started-with-github-pages/what-is-github-pages#types-of-github-pages-sites
    return "/" if repo.lower() == f"{owner.lower()}.github.io" else f"/{repo}/"
