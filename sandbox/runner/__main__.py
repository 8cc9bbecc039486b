"""`python -m sandbox.runner REPO --event ...`: run a repository's workflows for one event on this machine.

Secrets are named with `--secret NAME` and read from this process's environment variable NAME, never from the
command line (which other users can read). Exit status: 0 every run succeeded, 1 a run did not, 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from sandbox.runner.event import EventError
from sandbox.runner.run import RunOptions, run_dispatch
from sandbox.runner.workflow import WorkflowError


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sandbox.runner", description=__doc__.split("\n\n")[0])
    parser.add_argument("repo", type=Path, help="the repository directory (its default branch checked out)")
    parser.add_argument("--event", required=True, choices=["repository_dispatch", "workflow_dispatch"])
    parser.add_argument("--repository", default="octo/repo", help="owner/name the run belongs to")
    parser.add_argument("--default-branch", default="main")
    parser.add_argument("--event-type", default="", help="repository_dispatch: the event_type")
    parser.add_argument("--client-payload", default="{}", help="repository_dispatch: client_payload as JSON")
    parser.add_argument("--workflow", default="", help="workflow_dispatch: the workflow file name or path")
    parser.add_argument("--ref", default="", help="workflow_dispatch: the ref (default: the default branch)")
    parser.add_argument("--input", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--secret", action="append", default=[], metavar="NAME",
                        help="a secret whose value is this process's environment variable NAME")
    parser.add_argument("--api-url", default="https://api.github.com", help="GITHUB_API_URL for the steps")
    parser.add_argument("--server-url", default="https://github.com", help="GITHUB_SERVER_URL for the steps")
    parser.add_argument("--timeout", type=float, default=None, help="seconds for each whole run")
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of the log")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        client_payload = json.loads(args.client_payload)
        owner, _, name = args.repository.partition("/")
        inputs = dict(item.split("=", 1) for item in args.input)
        secrets = {key: os.environ[key] for key in args.secret}
    except (json.JSONDecodeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyError as exc:
        print(f"error: --secret {exc.args[0]}: no such environment variable", file=sys.stderr)
        return 2
    record = {
        "kind": args.event, "owner": owner, "repo": name, "event_type": args.event_type,
        "client_payload": client_payload, "workflow_id": args.workflow, "ref": args.ref or None, "inputs": inputs,
        "sender": owner,
    }
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    options = RunOptions(
        secrets=secrets, env={**env, "GITHUB_API_URL": args.api_url, "GITHUB_SERVER_URL": args.server_url},
        timeout=args.timeout, on_log=None if args.json else print,
    )
    try:
        results = run_dispatch(args.repo.resolve(), record, options, args.default_branch)
    except (WorkflowError, EventError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=2))
    else:
        for result in results:
            print(f"{result.workflow}: {result.conclusion}")
        if not results:
            print(f"no workflow in {args.repo} runs for this {args.event}")
    return 0 if all(r.conclusion == "success" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
