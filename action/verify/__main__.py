"""`python -m action.verify URL < checks.json`: run checks on a live page and print the results as JSON.

For programs that hold the checks but not our code, such as the sandbox's evaluator (it starts this as a process).
Input: `{"checks": [...], "attachments": ["name", ...]}` (attachments: to derive `?url=`-like parameters).
Output, one JSON object: `{"browser": path | null, "results": [{"index", "check", "kind", "outcome", "detail"}]}`.
JavaScript checks run in the browser; plain-English ones are reported `not-checkable` (no model here) and
repository ones `skipped` (no files here). Exit 0 whatever the checks say; 2 for input that is not that shape.
"""

from __future__ import annotations

import argparse
import json
import sys

from action.verify.browser import Browser, BrowserUnavailable, Outcome, Result, Timeouts, find_browser
from action.verify.checks import Kind, plan_checks


def results_json(results: list[Result], browser: str | None) -> str:
    return json.dumps({"browser": browser, "results": [
        {"index": r.check.index, "check": r.check.label, "kind": r.check.kind.value, "outcome": r.outcome.value,
         "detail": r.detail} for r in results]})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m action.verify", description=__doc__.splitlines()[0])
    parser.add_argument("url", help="the page to check, e.g. a pages_url")
    parser.add_argument("--local-only", action="store_true", help="load nothing but 127.0.0.1")
    parser.add_argument("--check-timeout", type=float, default=20.0, help="seconds per check (default 20)")
    parser.add_argument("--load-timeout", type=float, default=20.0, help="seconds until DOMContentLoaded")
    args = parser.parse_args(argv)
    try:
        data = json.load(sys.stdin)
        checks, attachments = data.get("checks", []), data.get("attachments", [])
        if not isinstance(checks, list) or not isinstance(attachments, list):
            raise ValueError('"checks" and "attachments" must be lists')
    except (ValueError, AttributeError) as exc:
        print(f'error: stdin must be {{"checks": [...], "attachments": [...]}}: {exc}', file=sys.stderr)
        return 2
    plan = plan_checks(checks, attachments=[str(a) for a in attachments]).checks
    path = find_browser()
    results = [Result(c, Outcome.SKIPPED, "repository checks need the files") if c.kind is Kind.REPO
               else Result(c, Outcome.NOT_CHECKABLE, "plain English: no model here") for c in plan]
    runnable = [c for c in plan if c.js]
    if runnable:
        ran: list[Result] = []
        if path is None:
            ran = [Result(c, Outcome.SKIPPED, "no Chromium or Chrome found (set CHROME_BIN)") for c in runnable]
        else:
            limits = Timeouts(load=args.load_timeout, check=args.check_timeout)
            try:
                with Browser(path, local_only=args.local_only, timeouts=limits) as browser:
                    ran = browser.run(args.url, runnable)
            except BrowserUnavailable as exc:
                ran = [Result(c, Outcome.SKIPPED, str(exc)) for c in runnable]
        by_index = {r.check.index: r for r in ran}
        results = [by_index.get(r.check.index, r) for r in results]
    print(results_json(results, path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
