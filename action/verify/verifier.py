"""A brief's checks against a site: repository checks in code, the others in the browser, locally and live.

`Verifier.prepare` plans the checks, translates the plain-English page checks (one LLM request) and starts the
browser once; `verify(site)` serves the site on 127.0.0.1 under the Pages prefix, runs the checks, then serves it
again with its attachments perturbed (other numbers, another image: `perturb.py`) to re-run the passing checks
whose elements show data-bound values, and flags those that still show them (`copied.py`); `soft_check(site)`
returns that verdict as repair problems, one per failing or copying check (the check of
`action.generate.SoftChecks`); `check_live(url)` runs the checks on the live page. Nothing here raises for a check:
a missing browser or a failed translation turns into named results.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import quote

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
from action.verify.checks import SITE, Check, Kind, Plan, plan_checks
from action.verify.copied import Bound, Copied, bound_values, changing_figures, reads_image, still_shown
from action.verify.perturb import perturb
from action.verify.repo import check_repository
from action.verify.report import copied_problem, counts, failures, repair_problem, result_line
from action.verify.server import SiteServer
from action.verify.translate import translate
from deployer.brief import Brief

PUBLISH_RESERVE_S = 60.0  # publishing, the Pages build and the notification come after a local run
NOTHING_TO_COMPARE = frozenset({Outcome.PAGE_NOT_LOADED, Outcome.TIMEOUT, Outcome.ERROR, Outcome.SKIPPED,
                                Outcome.NOT_CHECKABLE})


@dataclass(frozen=True)
class Verdict:
    """One local verification of a site: each check's result, and the passing checks whose figures are typed in."""

    results: list[Result]
    copied: list[Copied] = field(default_factory=list)
    perturbed: tuple[str, ...] = ()  # the attachments served with other data

    @property
    def problems(self) -> list[Problem]:
        """One repair problem per failing check and per check whose figures stay the same with other data."""
        return [repair_problem(r, r.url.split("?", 1)[0]) for r in failures(self.results)] + self.copied_problems

    @property
    def copied_problems(self) -> list[Problem]:
        return [copied_problem(c, self.perturbed) for c in self.copied]


class Verifier:
    def __init__(self, plan: Plan, *, attachments: Mapping[str, bytes], browser: Browser | None,
                 not_checkable: Mapping[int, str], prefix: str, log: Callable[[str], None], owns_browser: bool = True,
                 earlier_attachments: Mapping[str, bytes] | None = None):
        self.plan = plan
        self.attachments = dict(attachments)
        self.browser = browser
        self.not_checkable = dict(not_checkable)
        self.prefix = prefix
        self.log = log
        self.local: list[list[Result]] = []  # one list per verification of a generated site
        self.verdicts: list[tuple[str, Verdict]] = []  # (the site's digest, its verdict), one per verification
        data = {**(earlier_attachments or {}), **self.attachments}  # earlier rounds' data is served too
        self.perturbation = perturb(data)
        self.figures = changing_figures(data, self.perturbation.files)
        self.live: list[Result] | None = None
        self.seconds = 0.0
        self.owns_browser = owns_browser
        self.deadline: float | None = None  # epoch s: local runs leave PUBLISH_RESERVE_S before it

    @classmethod
    def prepare(
        cls, brief: Brief, earlier: Sequence[object], *, llm: ChatClient | None, prefix: str,
        browser_path: str | None = None, local_only: bool = False, timeouts: Timeouts = DEFAULT_TIMEOUTS,
        log: Callable[[str], None] = lambda _message: None, browser: Browser | None = None,
        earlier_attachments: Mapping[str, bytes] | None = None, rewritten: Collection[str] = (),
    ) -> Verifier:
        """Plan and translate the checks and start a browser (or use `browser`, which the caller then closes).
        `earlier_attachments` (name -> bytes, in the repository from earlier rounds) are perturbed with this
        round's. `rewritten`: attachments the round plan lets the model rewrite; the site holds the model's
        version, so they are neither compared byte for byte nor perturbed."""
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
        exact = {name: data for name, data in attachments.items() if name not in rewritten}
        verifier = cls(plan, attachments=exact, browser=browser, not_checkable=reasons, prefix=prefix, log=log,
                       owns_browser=owns, earlier_attachments=earlier_attachments)
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

    def verify(self, site: Mapping[str, bytes]) -> Verdict:
        """Every check on the assembled site, served locally under the Pages prefix, then the copied-figure check
        with other data, within the deadline's room."""
        began = time.monotonic()
        limits = None
        if self.browser is not None and self.deadline is not None:
            room = max(5.0, self.deadline - time.time() - PUBLISH_RESERVE_S)
            limits = replace(self.browser.timeouts, budget=min(self.browser.timeouts.budget, room))
        with SiteServer(site, self.prefix) as server:
            results = self._run(server.url, site, limits)
        try:
            copied = self._copied(site, results, limits)
        except Exception as exc:  # e.g. no port for the second server: the checks' own results still count
            self.log(f"verify: the check with other data could not run: {type(exc).__name__}: {exc}")
            copied = []
        verdict = Verdict(results, copied, self.perturbation.changed)
        self.local.append(results)
        self.verdicts.append((digest(site), verdict))
        self.seconds += time.monotonic() - began
        typed = f", {len(verdict.copied)} with typed-in figures" if verdict.copied else ""
        self.log(f"verify: round {len(self.local)}: {counts(results)}{typed}")
        for result in failures(results):
            self.log(f"verify:   {result_line(result)}")
        for found in verdict.copied:
            shown = ", ".join(f"{b.selector} = {b.shown}" for b in found.bound)
            self.log(f"verify:   check {found.check.label} -> typed in: {shown} stayed with other data")
        return verdict

    def check_site(self, site: Mapping[str, bytes]) -> list[Result]:
        """Each check's result on the assembled site (see `verify`)."""
        return self.verify(site).results

    def soft_check(self, site: Mapping[str, bytes]) -> list[Problem]:
        """The failing and copying checks as repair problems (the hook of `generate`, each with its `kind`); [] when
        all pass or none could run. Fewer problems is a better site (`action/verify/score.py`)."""
        try:
            return self.verify(site).problems
        except Exception as exc:  # e.g. no port to serve on: verification helps, it never stops a deployment
            self.log(f"verify: could not run the checks: {type(exc).__name__}: {exc}")
            return []

    def verdict_for(self, site: Mapping[str, bytes]) -> Verdict | None:
        """The latest verdict on exactly this site (the one `generate` kept need not be the last verified)."""
        key = digest(site)
        return next((v for k, v in reversed(self.verdicts) if k == key), None)

    def _copied(self, site: Mapping[str, bytes], results: Sequence[Result], limits: Timeouts | None) -> list[Copied]:
        """Serve the site with the perturbed attachments and re-run the passing checks whose elements show values
        bound to the data; those that still show them copy a constant."""
        if self.browser is None or not self.perturbation:
            return []
        suspects: dict[int, tuple[Check, list[Bound]]] = {}
        for result in results:
            if result.passed and result.read:
                image = reads_image(result.check, self.perturbation.renamed)
                bound = bound_values(result.check, result.read, self.figures, image)
                if bound:
                    suspects[result.check.index] = (result.check, bound)
        if not suspects:
            return []
        other = [replace(c, params=self._other_params(c)) for c, _ in suspects.values()]
        gone = {i: [(b.selector, b.index, b.shown, b.number) for b in bound] for i, (_, bound) in suspects.items()}
        with SiteServer(self.perturbation.site(site), self.prefix) as server:
            ran = self.browser.run(server.url, other, limits, gone=gone)
        copied = []
        for result in ran:
            check, bound = suspects[result.check.index]
            still = still_shown(bound, result.read) if result.outcome not in NOTHING_TO_COMPARE else []
            if still:
                copied.append(Copied(check, tuple(still)))
        return copied

    def _other_params(self, check: Check) -> tuple[tuple[str, str], ...]:
        """The check's parameters with each image attachment's URL replaced by another image's."""
        urls = {SITE + quote(name): SITE + quote(other) for name, other in self.perturbation.renamed.items()}
        return tuple((name, urls.get(value, value)) for name, value in check.params)

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


def digest(site: Mapping[str, bytes]) -> str:
    hashed = hashlib.sha256()
    for path in sorted(site):
        hashed.update(path.encode() + b"\0" + hashlib.sha256(site[path]).digest())
    return hashed.hexdigest()


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
