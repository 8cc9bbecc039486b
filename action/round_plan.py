"""What a round may do with its inputs, decided once before generation: `RoundPlan`. Pure.

A plain value, so that any planner can fill it: today `plan_round` fills it from the brief's sentences
(`action/brief_patterns.py`) and the published state; a planning LLM step (issue 20) may fill it instead, with the
patterns as its fallback. Decisions that depend on the generated site itself (which workflows a push starts, how
Pages builds it) are made on the commit plan (`action/plan.py`), once the site exists.
"""

from __future__ import annotations

from dataclasses import dataclass

from action.brief_patterns import excluded_files, fixable_attachments, wants_workflow
from action.published import Published
from deployer.brief import Brief


@dataclass(frozen=True)
class RoundPlan:
    """What this round may do; the defaults are the most conservative round (nothing special asked)."""

    workflows_allowed: bool = False  # the model may write `.github/workflows/*` (the brief asks for CI)
    excluded: frozenset[str] = frozenset()  # files the brief keeps out of the repository: never committed
    rewritable: frozenset[str] = frozenset()  # attachments the model may rewrite; the others go in byte for byte
    site_prefix: str = "/"  # the path Pages serves the site under, so local verification serves it there too


def plan_round(brief: Brief, published: Published) -> RoundPlan:
    """The plan the brief's sentences give (see `action/brief_patterns.py` for what they can and cannot read)."""
    return RoundPlan(
        workflows_allowed=wants_workflow(brief),
        excluded=frozenset(excluded_files(brief)),
        rewritable=frozenset(fixable_attachments(brief)),
        site_prefix=site_prefix(published.owner, published.name),
    )


def site_prefix(owner: str, repo: str) -> str:
    """Where Pages serves a repository's site on its owner's host: a user or organization site (the repository
    `<owner>.github.io`) at `/`, a project site at `/<repo>/`."""
    # docs.github.com/en/pages/getting-started-with-github-pages/what-is-github-pages#types-of-github-pages-sites
    return "/" if repo.lower() == f"{owner.lower()}.github.io" else f"/{repo}/"
