"""The emulator's behaviours as GitHub shows them, one setting each: realistic by default, each with its source.

A test that needs the ideal world turns one off (`PATCH /_sandbox/settings`, or a `deployer sandbox github`
option), or all of them (`--ideal`). Durations are seconds, sizes bytes, limits counts; 0 turns a number off.
`SETTINGS` describes each field once: the command line and `--help` are built from it, and a test keeps the table
of README.md in step with it.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, fields, replace
from typing import Any


@dataclass(frozen=True)
class Setting:
    name: str
    flag: str
    ideal: Any  # the value `--ideal` gives
    help: str
    source: str


SETTINGS = (
    Setting("creation_lag", "--creation-lag", 0.0,
            "seconds after creating a repository during which reading it (404), its commits and refs (409/422) "
            "and writing Git Data (409) fail as if it did not exist yet",
            "jenkins-x/jx#7130 (sleeps 5 s after creating), codesandbox/codesandbox-client#5604 (422 'No commit "
            "found for SHA: main' right after creating)"),
    Setting("lag_seed", "--lag-seed", 0,
            "seed of each repository's lag, drawn between half and all of --creation-lag",
            "(not a GitHub behaviour: makes the lag reproducible)"),
    Setting("tree_size_limit", "--tree-size-limit", 0,
            "bytes: a larger `POST git/trees` body answers 422 'Sorry, your request timed out...' every time",
            "qoomon/actions--create-commit#90, codesandbox/codesandbox-client#8614 (from about 2.5 MB)"),
    Setting("scope_errors_as_404", "--scope-errors-as-404", False,
            "a token without the `workflow` scope that changes .github/workflows/ gets a bare 404 at create-tree, "
            "create-commit, ref updates and contents PUT (off: a 403 naming the scope)",
            "wadackel/files-sync-action#201, octokit/rest.js#368, octokit/octokit.rb#1184"),
    Setting("put_pages_queues_no_build", "--put-pages-queues-no-build", False,
            "`PUT /pages` that changes the source or build type queues no build; the old build stays served",
            "SailorDave17/race-timer#175"),
    Setting("cdn_max_age", "--cdn-max-age", 0.0,
            "seconds the CDN in front of the Pages host keeps each answer (404s too), per full URL",
            "GitHub Pages sends `Cache-Control: max-age=600` through Fastly (iamahsanmehmood/openskp#230; headers "
            "in ouyi.github.io/post/2018/01/14/github-pages-cname-file.html)"),
    Setting("deployments_outside_builds", "--deployments-outside-builds", False,
            "a Pages deployment (actions/deploy-pages) does not show in `/pages/builds` (off: it does, as a build)",
            "GitHub documents deployments and builds as separate resources; issue 14 row 6"),
    Setting("jekyll", "--jekyll", False,
            "branch-built sites run Jekyll unless `.nojekyll`: Markdown rendered, Liquid errors fail the build",
            "docs.github.com 'About GitHub Pages and Jekyll'; google/syzkaller#5089, huggingface/trl#5636"),
    Setting("content_per_minute", "--content-limit", None,
            "secondary limit: content-creating requests (POST, PATCH, PUT, DELETE) a minute per user",
            "docs.github.com 'Rate limits for the REST API' (80 a minute)"),
    Setting("content_per_hour", "--content-hour-limit", 0,
            "secondary limit: content-creating requests an hour per user",
            "docs.github.com 'Rate limits for the REST API' (500 an hour)"),
    Setting("secondary_without_retry_after", "--secondary-without-retry-after", False,
            "the content-creation secondary limit answers 403 without `retry-after` (off: with one)",
            "gofri/go-github-ratelimit#38 (403, no retry-after), peter-evans/create-pull-request#2062"),
    Setting("mutation_interval", "--mutation-interval", 0.0,
            "seconds GitHub asks between mutating requests of one user; closer ones are listed at "
            "/_sandbox/pacing (never refused: it is guidance)",
            "docs.github.com 'Best practices for using the REST API' (at least one second)"),
    Setting("job_token_pushes_are_silent", "--job-token-pushes-are-silent", False,
            "a push made with a workflow's GITHUB_TOKEN starts no Pages build and no workflow run",
            "docs.github.com 'GITHUB_TOKEN' (no new runs); python/python-docs-pl#5, seqeralabs/nf-metro#20 "
            "(no legacy Pages build)"),
)


@dataclass(frozen=True)
class Settings:
    """GitHub as it is (the defaults), field by field; see SETTINGS for what each one does and its source."""

    creation_lag: float = 3.0
    lag_seed: int = 0
    tree_size_limit: int = 2_500_000
    scope_errors_as_404: bool = True
    put_pages_queues_no_build: bool = True
    cdn_max_age: float = 600.0
    deployments_outside_builds: bool = True
    jekyll: bool = True
    content_per_minute: int = 80
    content_per_hour: int = 500
    secondary_without_retry_after: bool = True
    mutation_interval: float = 1.0
    job_token_pushes_are_silent: bool = True

    def ideal(self) -> Settings:
        """Every behaviour off (limits that the ideal world also has, such as 80 a minute, stay)."""
        return replace(self, **{s.name: s.ideal for s in SETTINGS if s.ideal is not None})

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class BadSetting(ValueError):
    pass


def _type_of(name: str) -> type:
    return type(getattr(Settings(), name))


def coerce(name: str, value: Any) -> Any:
    """A setting's value checked as JSON gives it: bools for switches, non-negative numbers otherwise."""
    known = {s.name for s in SETTINGS}
    if name not in known:
        raise BadSetting(f"unknown setting {name!r}; known: {', '.join(sorted(known))}")
    kind = _type_of(name)
    if kind is bool:
        if not isinstance(value, bool):
            raise BadSetting(f"{name} must be true or false")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise BadSetting(f"{name} must be a non-negative number")
    if kind is int and value != int(value):
        raise BadSetting(f"{name} must be a whole number")
    return kind(value)


def updated(settings: Settings, changes: Any) -> Settings:
    """`settings` with a JSON object of changes applied; BadSetting names the first wrong field."""
    if not isinstance(changes, dict):
        raise BadSetting("body must be a JSON object of settings")
    return replace(settings, **{name: coerce(name, value) for name, value in changes.items()})


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One option per setting (a switch is `--x`/`--no-x`), plus `--ideal`; defaults are GitHub's."""
    defaults = Settings()
    parser.add_argument("--ideal", action="store_true",
                        help="turn every behaviour below off (the ideal world); options given as well still apply")
    for s in SETTINGS:
        default = getattr(defaults, s.name)
        text = f"{s.help} (default {default}; source: {s.source})".replace("%", "%%")
        if isinstance(default, bool):
            parser.add_argument(s.flag, dest=s.name, action=argparse.BooleanOptionalAction, default=None, help=text)
        else:
            parser.add_argument(s.flag, dest=s.name, type=type(default), default=None, metavar="N", help=text)


def from_arguments(args: argparse.Namespace) -> Settings:
    """GitHub's defaults, or the ideal world with --ideal, then every option given on the command line."""
    base = Settings().ideal() if args.ideal else Settings()
    given = {s.name: getattr(args, s.name) for s in SETTINGS if getattr(args, s.name) is not None}
    try:
        return updated(base, given)
    except BadSetting as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
