"""The `deployer` command line: one parser, handlers imported only when their subcommand runs."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Callable, Sequence
from typing import TypeAlias

from deployer import ACTION_MAJOR_TAG, __version__
from deployer.limits import SETTINGS as LIMIT_SETTINGS
from deployer.limits import TASK_CHARS
from deployer.models import DEFAULT_FALLBACKS, DEFAULT_MAX_TOKENS, DEFAULT_MODEL, DEFAULT_TEMPERATURE

SERVE_ENV = f"""\
environment:
  SHARED_SECRET      required; briefs must carry it (compared in constant time)
  GITHUB_TOKEN       required (alias GITHUB_PAT); token that may dispatch to DEPLOYER_REPO
  DEPLOYER_REPO      required; owner/name of the repository whose deploy workflow runs briefs
  GITHUB_API_URL     default https://api.github.com
  DEPLOYER_DATA_DIR  default .deployer (the SQLite outbox lives here)
  HOST               default 127.0.0.1
  PORT               default 8000
  MAX_BODY_MB        default 25 (MiB; larger bodies get 413 while streaming)
  PUBLIC_URL         how GitHub's runners reach this receiver; default http://HOST:PORT. Briefs over 64 KB are
                     fetched from it, so a loopback one (127.0.0.0/8, ::1, localhost, *.localhost) or 0.0.0.0 / ::
                     stops start-up unless HOST is loopback too (local use: runners on this machine)
  DISPATCH_PER_MINUTE default 60 (repository_dispatch calls per minute per token)
  DISPATCH_LOOKUP_SECONDS default 60 (after a dispatch whose answer was lost, how long to look for its run
                     before sending it again; the token must list Actions runs, else it is sent again at once)
  DISPATCH_TIMEOUT_SECONDS default 30 (how long to wait for GitHub's answer to one request; no answer
                     leaves the dispatch in doubt, settled by that lookup)
  RATE_LIMIT_PER_MINUTE default 600 (POSTs per minute per client address; 0 turns it off)
  BRIEF_TOKEN_TTL_HOURS default 24 (lifetime of the tokens a dispatch carries: the one that opens an oversize
                     brief, the one its run reports progress with)
  OUTBOX_SYNC        default normal (a kill -9 loses nothing; full: also survives a power cut, fsync per commit)
  STATUS_LOOKUP_SECONDS default 10 (the status page asks GitHub's Actions API about runs at most this often;
                     answers are conditional requests, and a 304 costs no rate limit)
the status page: /status (log in with SHARED_SECRET; a session cookie, never the secret in a URL); JSON for
`deployer status`: GET /briefs, GET /briefs/ID/story (Authorization: Bearer SHARED_SECRET)
limits on each brief (a brief over one is a 400 naming the field and the limit; `deployer run` applies the same
names to a brief pasted by hand; the task is at most {TASK_CHARS} characters, GitHub's rule for a repository name):
""" + "\n".join(limit.help_line() for limit in LIMIT_SETTINGS) + "\n"

RUN_ENV = f"""\
environment (action.yml maps its inputs to these; set them by hand for a local run):
  DEPLOYER_GITHUB_TOKEN        required (or GITHUB_TOKEN); may create repositories and enable Pages
  DEPLOYER_OPENROUTER_API_KEY  required (or OPENROUTER_API_KEY)
  DEPLOYER_MODEL               default {DEFAULT_MODEL}
  DEPLOYER_FALLBACK_MODELS     comma-separated; default {",".join(DEFAULT_FALLBACKS)}
                               (a model OpenRouter's model list lacks is skipped)
  DEPLOYER_TEMPERATURE         default {DEFAULT_TEMPERATURE} (0 to 2)
  DEPLOYER_MAX_TOKENS          default {DEFAULT_MAX_TOKENS}: one answer's budget (a longer answer is continued)
  DEPLOYER_OPENROUTER_BASE_URL default https://openrouter.ai/api/v1 (or OPENROUTER_BASE_URL)
  DEPLOYER_OWNER               default: the token's user
  DEPLOYER_BRIEF               the brief as JSON; default: read it from the event
  DEPLOYER_DEADLINE_MINUTES    default 10, counted from the receiver's accepted_at (or the run's start)
  BRIEF_MAX_*                  limits on a brief pasted by hand, as `deployer serve --help` lists them
GitHub's own: GITHUB_EVENT_NAME, GITHUB_EVENT_PATH, GITHUB_API_URL, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY.
"""

# The sandbox and what it imports: not in the installed package (its wheel holds deployer, receiver and action),
# only in a clone, where uv syncs the `sandbox` dependency group (tests/test_packaging.py keeps the two equal).
SANDBOX_IMPORTS = ("sandbox", "dulwich", "cryptography", "openapi_schema_validator")

Handler = Callable[[argparse.Namespace], int]


def _lazy(target: str) -> Handler:
    """Import `module:function` only when the subcommand runs, so `--help` stays instant."""

    def run(args: argparse.Namespace) -> int:
        module, _, func = target.partition(":")
        return int(getattr(importlib.import_module(module), func)(args) or 0)

    return run


def _sandbox(target: str) -> Handler:
    """`deployer sandbox ...` from an install without the sandbox: one line saying where it runs instead."""
    handler = _lazy(target)

    def run(args: argparse.Namespace) -> int:
        missing = [name for name in SANDBOX_IMPORTS if importlib.util.find_spec(name) is None]
        if missing:
            print(f"deployer sandbox: {', '.join(missing)} not installed: the sandbox and its dependencies come with "
                  "a clone of llm-pages-deployer, not with the package; in a clone run "
                  "`python3 -m uv run deployer sandbox`", file=sys.stderr)
            return 2
        return handler(args)

    return run


def _sandbox_arguments(parser: argparse.ArgumentParser, module: str) -> None:
    """Options a sandbox part declares itself (`add_arguments` in `module`), when the sandbox is here; without it
    the subcommand only says where it runs, so it needs none."""
    if importlib.util.find_spec("sandbox") is not None:
        importlib.import_module(module).add_arguments(parser)


Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
RAW = argparse.RawDescriptionHelpFormatter


def build_parser() -> argparse.ArgumentParser:
    """The whole command line; each subcommand declares itself in its own function below."""
    parser = argparse.ArgumentParser(
        prog="deployer", description="Turn an app brief into a live GitHub Pages site.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in (_add_serve, _add_run, _add_sandbox, _add_send, _add_status, _add_doctor, _add_init):
        add(sub)
    return parser


def _add_serve(sub: Subparsers) -> None:
    serve = sub.add_parser(
        "serve", help="run the receiver (POST /api-endpoint)", epilog=SERVE_ENV, formatter_class=RAW,
        description="Accept briefs, keep them in a durable outbox and fire repository_dispatch for each.",
    )
    serve.add_argument("--host", help="interface to bind (overrides HOST)")
    serve.add_argument("--port", type=int, help="port to bind (overrides PORT)")
    serve.set_defaults(handler=_lazy("receiver.main:main"))


def _add_run(sub: Subparsers) -> None:
    run = sub.add_parser(
        "run", help="the action's entry point: deploy one brief (reads GitHub's env)", epilog=RUN_ENV,
        formatter_class=RAW,
        description="Read a brief from the GitHub event or DEPLOYER_BRIEF, generate, publish, wait for Pages, notify.",
    )
    run.set_defaults(handler=_lazy("action.main:main"))


def _add_sandbox(sub: Subparsers) -> None:
    """`deployer sandbox` runs the demo; each emulated part is a subcommand of its own."""
    sandbox = sub.add_parser(
        "sandbox", help="the whole system on 127.0.0.1, end to end (or one emulated part)",
        description="Start the emulated GitHub, Pages host, OpenRouter stand-in, evaluator and receiver, "
        "send a sample brief and follow it to a live page.",
    )
    sandbox.add_argument("--brief", metavar="FILE", help="brief JSON to send instead of the bundled sample")
    sandbox.add_argument("--rounds", type=int, default=1, help="how many rounds of the sample to run (default 1)")
    sandbox.add_argument("--serve", action="store_true", help="keep everything running after the demo")
    sandbox.add_argument("--publish-self", action="store_true",
                         help="skip the demo: keep the world running with this project published and tagged v1, "
                         "and print how another repository uses it")
    sandbox.add_argument("--build-delay", type=float, default=1.0, help="Pages build delay in seconds (default 1)")
    sandbox.set_defaults(handler=_sandbox("sandbox.demo:main"))
    parts = sandbox.add_subparsers(dest="part", metavar="PART")
    for add_part in (_add_sandbox_github, _add_sandbox_openrouter, _add_sandbox_evaluator, _add_sandbox_fixtures,
                     _add_sandbox_actions):
        add_part(parts)


def _add_sandbox_github(parts: Subparsers) -> None:
    github = parts.add_parser(
        "github", help="the GitHub REST emulator and its Pages host",
        description="A GitHub REST emulator on real bare git repositories, with a Pages host per owner behind a "
        "caching CDN. It behaves as GitHub does, inconvenient behaviours included (each option below turns one "
        "off or tunes it; --ideal turns them all off). Test-only routes: GET/PATCH /_sandbox/settings and more, "
        "see sandbox/github/README.md.",
    )
    github.add_argument("--port", type=int, default=0, help="REST port (0 = any free port)")
    github.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    github.add_argument("--user", action="append", default=[], metavar="LOGIN",
                        help="a user; repeat with --token for several (default: sandbox)")
    github.add_argument("--token", action="append", default=[], metavar="TOKEN",
                        help="the token of the --user at the same position (default: sandbox-token)")
    github.add_argument("--org", action="append", default=[], metavar="ORG=USER[,USER]",
                        help="an organization and its members")
    github.add_argument("--pages-port", type=int, default=0,
                        help="port of the first owner's Pages host; the next owners (users, then orgs) take the "
                        "following ports (0 = any free port for each)")
    github.add_argument("--build-delay", type=float, default=1.0, help="seconds a Pages build takes (default 1)")
    github.add_argument("--data", metavar="DIR", help="where the bare repositories live (default: a temp dir)")
    github.add_argument("--rate-limit", type=int, default=5000, metavar="N",
                        help="primary rate limit: requests per hour per token (default 5000, as GitHub)")
    github.add_argument("--scopes", default="repo,workflow", metavar="S[,S]",
                        help="OAuth scopes the tokens report in X-OAuth-Scopes (default repo,workflow)")
    _sandbox_arguments(github, "sandbox.github.settings")
    github.set_defaults(handler=_sandbox("sandbox.github.server:main"))


def _add_sandbox_openrouter(parts: Subparsers) -> None:
    openrouter = parts.add_parser(
        "openrouter", help="an OpenRouter-compatible chat completions stand-in",
        description="An OpenRouter-compatible /api/v1 that answers sample briefs with a small real app.",
    )
    openrouter.add_argument("--port", type=int, default=0, help="port (0 = any free port)")
    openrouter.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    openrouter.add_argument("--script", metavar="DIR", help="directory of scripted responses, played in order")
    openrouter.add_argument("--key", help="the only API key accepted (default: any non-empty Bearer key)")
    openrouter.add_argument("--models", metavar="ID[,ID...]", help="extra model ids to serve (sandbox/* always valid)")
    openrouter.add_argument("--free-limits", metavar="PER_MIN/PER_DAY",
                            help="enforce OpenRouter's free-model limits on :free ids, e.g. 20/50")
    openrouter.add_argument("--credits", type=float, metavar="USD",
                            help="the account's credit balance (default 1.5: a request without max_tokens on "
                                 "anthropic/claude-sonnet-5 gets OpenRouter's 402)")
    openrouter.add_argument("--style", choices=("clean", "varied"), default="varied",
                            help="how the built-in model writes: varied (default) like real models, clean exactly "
                                 "as the prompt asks")
    openrouter.add_argument("--seed", type=int, default=0, help="seed of the varied style's choices (default 0)")
    openrouter.set_defaults(handler=_sandbox("sandbox.openrouter.server:main"))


def _add_sandbox_evaluator(parts: Subparsers) -> None:
    evaluator = parts.add_parser(
        "evaluator", help="an evaluation_url that records notifications",
        description="Records each notification (GET /notifications) and can fail the first N attempts.",
    )
    evaluator.add_argument("--port", type=int, default=0, help="port (0 = any free port)")
    evaluator.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    evaluator.add_argument("--fail-first", type=int, default=0, metavar="N", help="answer 500 to the first N")
    evaluator.set_defaults(handler=_sandbox("sandbox.evaluator:main"))


def _add_sandbox_fixtures(parts: Subparsers) -> None:
    fixtures = parts.add_parser(
        "fixtures", help="data APIs for build scripts (data.sec.gov) and the proxy that maps them",
        description="Play data.sec.gov on 127.0.0.1 and run a forward proxy (with a sandbox CA) that sends "
        "https://data.sec.gov/... there; GET /_sandbox/info gives the environment a runner needs.",
    )
    fixtures.add_argument("--port", type=int, default=0, help="fixture server port (0 = any free port)")
    fixtures.add_argument("--proxy-port", type=int, default=0, help="forward proxy port (0 = any free port)")
    fixtures.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    fixtures.add_argument("--data", metavar="DIR", help="where the sandbox CA is written (default: a temp dir)")
    fixtures.set_defaults(handler=_sandbox("sandbox.fixtures.server:main"))


def _add_sandbox_actions(parts: Subparsers) -> None:
    actions = parts.add_parser(
        "actions", help="run the workflows that dispatches to the emulated GitHub start",
        description="Poll the GitHub emulator's dispatches and run the matching workflows with the local runner, "
        "as GitHub Actions would. Serves GET /runs and GET /runs/N/log.",
    )
    actions.add_argument("--github", required=True, metavar="URL", help="the emulator's REST root")
    actions.add_argument("--token-env", default="GITHUB_TOKEN", metavar="NAME",
                         help="environment variable holding the token used to clone (default GITHUB_TOKEN)")
    actions.add_argument("--secret", action="append", default=[], metavar="NAME",
                         help="a secret for the workflows, its value read from the environment variable NAME")
    actions.add_argument("--data", required=True, metavar="DIR", help="where runs check out and keep their files")
    actions.add_argument("--max-parallel", type=int, default=4, help="runs at once (default 4)")
    actions.add_argument("--run-timeout", type=float, default=600, help="seconds for one run (default 600)")
    actions.add_argument("--ignore-pushes-of", action="append", default=[], metavar="OWNER/REPO",
                         help="start no push-triggered runs for this repository (e.g. this project's own CI)")
    actions.add_argument("--port", type=int, default=0, help="status port (0 = any free port)")
    actions.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    actions.set_defaults(handler=_sandbox("sandbox.actions:main"))


def _add_send(sub: Subparsers) -> None:
    send = sub.add_parser(
        "send", help="POST a brief file to a receiver",
        description="POST a brief to a receiver; the secret comes from SHARED_SECRET when the file has none.",
    )
    send.add_argument("file", metavar="FILE.json")
    send.add_argument("--url", default="http://127.0.0.1:8000/api-endpoint", help="receiver endpoint")
    send.set_defaults(handler=_lazy("deployer.send:main"))


def _add_status(sub: Subparsers) -> None:
    status = sub.add_parser(
        "status", help="what became of briefs: a table, or one brief's steps and timeline",
        formatter_class=RAW,
        description="Show recent briefs with their stage (accepted, dispatched, run, published, live, notified), or "
        "one brief's steps, links and timeline, from a receiver's JSON API (the status page's facts).",
        epilog="environment: SHARED_SECRET (required; sent as a Bearer token), RECEIVER_URL (default "
        "http://127.0.0.1:8000)\nexit status: 0; 1 when the receiver cannot be read or the brief ID failed",
    )
    status.add_argument("id", nargs="?", metavar="ID", help="one brief: its steps and timeline")
    status.add_argument("--watch", action="store_true", help="redraw every 2 s until nothing shown is in flight")
    status.add_argument("--url", help="the receiver's base URL (overrides RECEIVER_URL)")
    status.add_argument("--task", help="only briefs of this task")
    status.add_argument("--state", choices=("in_flight", "succeeded", "failed"), help="only briefs in this state")
    status.add_argument("--limit", type=int, default=20, help="how many recent briefs (default 20, at most 200)")
    status.set_defaults(handler=_lazy("deployer.status:main"))


def _add_doctor(sub: Subparsers) -> None:
    doctor = sub.add_parser(
        "doctor", help="check a real configuration before going live", formatter_class=RAW,
        description="Check the settings, the GitHub token's user and scopes, DEPLOYER_REPO and its workflow, the "
        "OpenRouter key, its credit and the models a run would use, and the receiver's health; one line per check "
        "with its fix.",
        epilog="environment: SHARED_SECRET, GITHUB_TOKEN (or GITHUB_PAT), DEPLOYER_REPO, OPENROUTER_API_KEY,\n"
        "  GITHUB_API_URL, OPENROUTER_BASE_URL, PUBLIC_URL (the receiver, unless --receiver is given),\n"
        "  DEPLOYER_MODEL, DEPLOYER_FALLBACK_MODELS (the models the deploy workflow uses, when not the defaults)",
    )
    doctor.add_argument("--receiver", metavar="URL", help="the receiver's base URL (default PUBLIC_URL)")
    doctor.set_defaults(handler=_lazy("deployer.doctor:main"))


def _add_init(sub: Subparsers) -> None:
    init = sub.add_parser("init", help="write a deploy workflow into another repository",
                          description="Write .github/workflows/deploy-pages-brief.yml that uses this action.")
    init.add_argument("dir", nargs="?", default=".", metavar="DIR",
                      help="root of the repository that will run it (default: the current directory)")
    init.add_argument("--force", action="store_true", help="overwrite an existing workflow")
    init.add_argument("--owner", default="OWNER", metavar="NAME",
                      help="account that publishes llm-pages-deployer (default: the placeholder OWNER, to edit)")
    init.add_argument("--ref", default=ACTION_MAJOR_TAG, metavar="TAG",
                      help=f"tag, branch or commit SHA of the action (default {ACTION_MAJOR_TAG})")
    init.set_defaults(handler=_lazy("deployer.init:main"))


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        return 130
