"""A brief's checks against a site: repository checks in code, the others in the browser, locally and live.

`Verifier.prepare` plans the checks, translates the plain-English page checks (one LLM request) and starts the
browser once; `soft_check(site)` serves the site on 127.0.0.1 under the Pages prefix and returns the failures as
repair problems (the check of `action.generate.SoftChecks`); `check_live(url)` runs the same checks on the live page.
Nothing here raises for a check: a missing browser or a failed translation turns into named results.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from action.llm import ChatClient
from action.validate import Problem
from action.verify.browser import (
    DEFAULT_TIMEOUTS,
    Browser,
    BrowserUnavailable,
    Outcome,
    Result,
    Timeouts,
    find_browser,
)
from action.verify.checks import Kind, Plan, plan_checks
from action.verify.repo import check_repository
from action.verify.report import counts, failures, repair_problem, result_line
from action.verify.server import SiteServer
from action.verify.translate import translate
from deployer.brief import Brief

PUBLISH_RESERVE_S = 60.0  # publishing, the Pages build and the notification come after a local run


class Verifier:
    def __init__(self, plan: Plan, *, attachments: Mapping[str, bytes], browser: Browser | None,
                 not_checkable: Mapping[int, str], prefix: str, log: Callable[[str], None], owns_browser: bool = True):
        self.plan = plan
        self.attachments = dict(attachments)
        self.browser = browser
        self.not_checkable = dict(not_checkable)
        self.prefix = prefix
        self.log = log
        self.local: list[list[Result]] = []  # one list per verification of a generated site
        self.live: list[Result] | None = None
        self.seconds = 0.0
        self.owns_browser = owns_browser
        self.deadline: float | None = None  # epoch s: local runs leave PUBLISH_RESERVE_S before it

    @classmethod
    def prepare(
        cls, brief: Brief, earlier: Sequence[object], *, llm: ChatClient | None, prefix: str,
        browser_path: str | None = None, local_only: bool = False, timeouts: Timeouts = DEFAULT_TIMEOUTS,
        log: Callable[[str], None] = lambda _message: None, browser: Browser | None = None,
    ) -> Verifier:
        """Plan and translate the checks and start a browser (or use `browser`, which the caller then closes)."""
        began = time.monotonic()
        attachments = {a.name: a.decode().data for a in brief.attachments}
        plan = plan_checks(brief.checks, earlier, attachments=list(attachments))
        page = plan.of(Kind.PAGE)
        reasons: dict[int, str] = {}
        if page and llm is not None:
            translated, reasons = translate(page, llm, brief=brief.brief, files=sorted(attachments), log=log)
            by_index = {c.index: c for c in translated}
            plan = Plan([by_index.get(c.index, c) for c in plan.checks])
        elif page:
            reasons = {c.index: "no model to translate it" for c in page}
        owns = browser is None
        if any(c.js for c in plan.checks) and browser is None:
            browser, reason = _start_browser(browser_path or find_browser(), local_only, timeouts)
            if browser is None:
                log(f"checks: browser checks skipped: {reason}")
                reasons.update({c.index: f"skipped: {reason}" for c in plan.checks if c.js})
        verifier = cls(plan, attachments=attachments, browser=browser, not_checkable=reasons, prefix=prefix, log=log,
                       owns_browser=owns)
        verifier.seconds += time.monotonic() - began
        for check in plan.checks:
            how = "in code" if check.kind is Kind.REPO else ("JavaScript" if check.js else "not checkable")
            log(f"checks: {check.index + 1}. [{check.kind.value}] {check.label} -> {how}"
                + (f": {check.js}" if check.kind is Kind.PAGE and check.js else ""))
        return verifier

    def close(self) -> None:
        if self.browser is not None and self.owns_browser:
            self.browser.close()
        self.browser = None

    def check_site(self, site: Mapping[str, bytes]) -> list[Result]:
        """Every check on the assembled site, served locally under the Pages prefix, within the deadline's room."""
        began = time.monotonic()
        limits = None
        if self.browser is not None and self.deadline is not None:
            room = max(5.0, self.deadline - time.time() - PUBLISH_RESERVE_S)
            limits = replace(self.browser.timeouts, budget=min(self.browser.timeouts.budget, room))
        with SiteServer(site, self.prefix) as server:
            results = self._run(server.url, site, limits)
        self.local.append(results)
        self.seconds += time.monotonic() - began
        self.log(f"verify: round {len(self.local)}: {counts(results)}")
        for result in failures(results):
            self.log(f"verify:   {result_line(result)}")
        return results

    def soft_check(self, site: Mapping[str, bytes]) -> list[Problem]:
        """The failing checks as repair problems (the hook of `generate`); [] when all pass or none could run."""
        try:
            results = self.check_site(site)
        except Exception as exc:  # e.g. no port to serve on: verification helps, it never stops a deployment
            self.log(f"verify: could not run the checks: {type(exc).__name__}: {exc}")
            return []
        return [repair_problem(r, r.url.split("?", 1)[0]) for r in failures(results)]

    def check_live(self, url: str, site: Mapping[str, bytes] | None) -> list[Result]:
        """The same checks on the published page (repository checks again on the committed files, when given)."""
        began = time.monotonic()
        self.live = self._run(url if url.endswith("/") else url + "/", site)
        self.seconds += time.monotonic() - began
        return self.live

    def _run(self, url: str, site: Mapping[str, bytes] | None, limits: Timeouts | None = None) -> list[Result]:
        browser_checks = [c for c in self.plan.checks if c.js and c.index not in self.not_checkable]
        ran = {r.check.index: r for r in self.browser.run(url, browser_checks, limits)} if self.browser else {}
        results: list[Result] = []
        for check in self.plan.checks:
            if check.kind is Kind.REPO:
                if site is None:
                    results.append(Result(check, Outcome.SKIPPED, "no files to read"))
                else:
                    ok, detail = check_repository(check.text, site, self.attachments)
                    results.append(Result(check, Outcome.PASSED if ok else Outcome.FAILED, detail))
            elif check.index in ran:
                results.append(_own_mistake(ran[check.index]))
            else:
                reason = self.not_checkable.get(check.index, "no JavaScript to run")
                outcome = Outcome.SKIPPED if reason.startswith("skipped") else Outcome.NOT_CHECKABLE
                results.append(Result(check, outcome, reason))
        return results


def _start_browser(path: str | None, local_only: bool, timeouts: Timeouts) -> tuple[Browser | None, str]:
    if path is None:
        return None, "no Chromium or Chrome found (set CHROME_BIN)"
    browser = Browser(path, local_only=local_only, timeouts=timeouts)
    try:
        browser.start()
    except BrowserUnavailable as exc:
        return None, str(exc)
    return browser, ""


def _own_mistake(result: Result) -> Result:
    """A translation that is not valid JavaScript is our mistake, not the site's: not checkable."""
    if result.check.kind is Kind.PAGE and result.outcome is Outcome.SYNTAX_ERROR:
        return replace(result, outcome=Outcome.NOT_CHECKABLE, detail=f"its translation is not valid: {result.detail}")
    return result
