"""Run js checks in headless Chromium (Playwright), the way graders do, with every failure mode named.

The browser is found by path (CHROME_BIN, then chromium / google-chrome on PATH, then the usual install paths), never
downloaded at run time: GitHub's ubuntu runners ship Chrome, and CI installs Debian's chromium. It runs in its own
event-loop thread so one browser serves every run (local rounds, then the live page) and so a check that hangs, even
in a synchronous loop, is abandoned after its timeout (its page is thrown away and reopened for the checks after it).

Each check is run as graders run `page.evaluate(check)`: as a script whose completion value is the result; a function
value is called and a promise awaited. Named results: passed, failed (a falsy value), threw, syntax-error, timeout,
page-not-loaded (the document never reached DOMContentLoaded, or answered an HTTP error), error (the browser itself
failed). The page's wait is bounded: DOMContentLoaded within `load` seconds, then at most `settle` seconds for `load`
and network idle, so a CDN that never answers does not hang verification.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import shutil
import threading
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from action.verify.checks import Check, Reads, selectors

if TYPE_CHECKING:
    from playwright.async_api import Browser as PWBrowser
    from playwright.async_api import BrowserContext, Page, Playwright, Request, Route

T = TypeVar("T")
Gone = Mapping[int, Sequence[tuple[str, int, str, bool]]]  # check index -> (selector, match index, text, is a
# number) to wait out
MAX_MATCHES = 20  # elements read per selector
SNIPPET_MATCHES = 5  # elements shown per selector in a failure
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
BROWSER_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome",
                 "/opt/google/chrome/chrome", "/snap/bin/chromium")
BROWSER_ARGS = (
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-default-apps", "--disable-extensions",
    "--no-first-run", "--no-default-browser-check", "--disable-domain-reliability", "--dns-prefetch-disable",
    "--metrics-recording-only", "--mute-audio", "--disable-breakpad", "--disable-features=Translate,MediaRouter",
)
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
BLOCKED = "net::ERR_BLOCKED_BY_CLIENT"
HARNESS = """async (source) => {
  let run = () => (0, eval)(source);
  try { new Function(source); } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    // Top-level `await` is no script, but a reader means it: run it as the body of an async function.
    const AsyncFunction = (async () => {}).constructor;
    try { run = new AsyncFunction(`return (\n${source}\n);`); } catch (_) {
      try { run = new AsyncFunction(source); } catch (_) {
        return { outcome: "syntax-error", detail: `SyntaxError: ${e.message}` };
      }
    }
  }
  let value;
  try {
    value = run();
    if (typeof value === "function") value = value();
    value = await value;
  } catch (e) {
    const text = e instanceof Error ? `${e.name}: ${e.message}` : `threw ${String(e)}`;
    return { outcome: "threw", detail: text };
  }
  let shown;
  try { shown = JSON.stringify(value); } catch (e) { shown = undefined; }
  if (shown === undefined) shown = String(value);
  return { outcome: value ? "passed" : "failed", detail: `returned ${shown.slice(0, 200)}` };
}"""
SNIPPET = """([sels, title, most]) => {
  const out = [];
  if (title) out.push(`document.title: ${JSON.stringify(document.title)}`);
  for (const s of sels) {
    let els = [];
    try { els = [...document.querySelectorAll(s)]; } catch (e) { out.push(`${s}: not a valid selector`); continue; }
    if (!els.length) { out.push(`${s}: no element matches`); continue; }
    if (els.length === 1) out.push(`${s}: ${els[0].outerHTML.slice(0, 600)}`);
    else {
      out.push(`${s}: ${els.length} elements match` + (els.length > most ? `, the first ${most}:` : ":"));
      for (const el of els.slice(0, most)) out.push(`  ${el.outerHTML.slice(0, 300)}`);
    }
    const box = els[0].parentElement && els[0].parentElement.closest("table, ul, ol, dl");
    if (box) out.push(`  inside ${box.outerHTML.slice(0, 1200)}`);
  }
  if (!out.length) out.push((document.body ? document.body.outerHTML : "(no <body>)").slice(0, 1500));
  return out.join("\\n");
}"""
# The text of the elements a check reads, after it ran. With `gone` ([selector, index, text, number] entries), waits
# up to `wait` ms while any of those texts is still in its element (a number as a whole number, as
# figures.SHOWN_NUMBER_RE reads it: 97 is not in 197): a page script may still be computing.
READ = r"""async ([sels, gone, wait, most]) => {
  const text = (el) => (/^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName) ? el.value : el.textContent || "")
    .replace(/\s+/g, " ").trim().slice(0, 500);
  const read = () => sels.map((s) => {
    try { return [s, [...document.querySelectorAll(s)].slice(0, most).map(text)]; } catch (e) { return [s, []]; }
  });
  const escape = (t) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const shows = (shown, t, number) => !number ? shown.includes(t)
    : new RegExp("(?<![\\w.,-])" + escape(t) + "(?![\\w]|[.,]\\d)").test(shown);
  const stays = (out) => gone.some(([s, i, t, number]) => {
    const row = out.find((r) => r[0] === s);
    return !!row && shows(row[1][i] || "", t, number);
  });
  const end = Date.now() + wait;
  let out = read();
  while (stays(out) && Date.now() < end) { await new Promise((r) => setTimeout(r, 100)); out = read(); }
  return out;
}"""


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    THREW = "threw"
    SYNTAX_ERROR = "syntax-error"
    TIMEOUT = "timeout"
    PAGE_NOT_LOADED = "page-not-loaded"
    NOT_CHECKABLE = "not-checkable"
    SKIPPED = "skipped"
    ERROR = "error"


@dataclass(frozen=True)
class Result:
    check: Check
    outcome: Outcome
    detail: str = ""
    url: str = ""
    dom: str = ""  # the elements the check reads, as the page had them (failures only)
    console_errors: tuple[str, ...] = ()
    failed_requests: tuple[str, ...] = ()
    read: Reads = ()  # the text of each element the check's selectors match, after it ran (see copied.py)

    @property
    def passed(self) -> bool:
        return self.outcome is Outcome.PASSED


@dataclass(frozen=True)
class Timeouts:
    load: float = 20.0  # until DOMContentLoaded
    settle: float = 3.0  # then, at most, for `load` and network idle together
    check: float = 20.0  # per check (graders allow e.g. "within 15 seconds")
    budget: float = 120.0  # for one run of all checks: checks left when it is spent are skipped
    change: float = 5.0  # with other data: how long after loading a page may still show an old value


DEFAULT_TIMEOUTS = Timeouts()


@dataclass
class PageLog:
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)


class BrowserUnavailable(RuntimeError):
    pass


def find_browser(env: Mapping[str, str] | None = None) -> str | None:
    """CHROME_BIN (set on GitHub's runners), then a Chromium or Chrome on PATH, then the usual paths."""
    env = os.environ if env is None else env
    for candidate in (env.get("CHROME_BIN", ""), *(shutil.which(n) or "" for n in BROWSER_NAMES), *BROWSER_PATHS):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


class Browser:
    """`with Browser(path) as browser: browser.run(url, checks)`; thread-safe calls into one event-loop thread."""

    def __init__(self, executable: str, *, local_only: bool = False, timeouts: Timeouts = DEFAULT_TIMEOUTS):
        self.executable = executable
        self.local_only = local_only
        self.timeouts = timeouts
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="verify-browser", daemon=True)
        self._pw: Playwright | None = None
        self._browser: PWBrowser | None = None

    def __enter__(self) -> Browser:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def start(self) -> None:
        """Launch the browser; BrowserUnavailable (with the reason) when it cannot start."""
        if not self._thread.is_alive():
            self._thread.start()
        try:
            self._call(self._start(), timeout=60)
        except Exception as exc:
            self.close()
            raise BrowserUnavailable(f"cannot start {self.executable}: {_first_line(exc)}") from None

    def run(self, base_url: str, checks: Sequence[Check], timeouts: Timeouts | None = None, *,
            gone: Gone | None = None) -> list[Result]:
        """One result per check (in order); checks without JavaScript get NOT_CHECKABLE. Never raises for a check.
        `gone`: texts the checks' elements showed with other data, waited out until `timeouts.change` seconds after
        their page loaded."""
        limits = timeouts or self.timeouts
        runnable = [c for c in checks if c.js]
        try:
            slack = 60 + len(runnable) * 10 + (limits.change * len(runnable) if gone else 0)  # pages, snippets
            done = self._call(self._run(base_url, runnable, limits, gone or {}),
                              timeout=limits.budget + slack) if runnable else {}
        except Exception as exc:
            done = {c.index: Result(c, Outcome.ERROR, f"the browser failed: {_first_line(exc)}") for c in runnable}
        return [done.get(c.index) or Result(c, Outcome.NOT_CHECKABLE, "no JavaScript to run") for c in checks]

    def close(self) -> None:
        if self._thread.is_alive():
            with contextlib.suppress(Exception):  # closing: nothing left to report to
                self._call(self._stop(), timeout=30)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        if not self._loop.is_running() and not self._loop.is_closed():
            self._loop.close()

    def _call(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise

    async def _start(self) -> None:
        self._pw = await _playwright().async_playwright().start()
        self._browser = await self._pw.chromium.launch(
            executable_path=self.executable, headless=True, args=list(BROWSER_ARGS), timeout=45_000,
        )

    async def _stop(self) -> None:
        if self._browser is not None:
            await self._browser.close()
        if self._pw is not None:
            await self._pw.stop()
        self._browser = self._pw = None

    async def _run(self, base_url: str, checks: Sequence[Check], limits: Timeouts, gone: Gone) -> dict[int, Result]:
        groups: dict[str, list[Check]] = {}
        for check in checks:
            groups.setdefault(base_url + check.query(base_url), []).append(check)
        results: dict[int, Result] = {}
        until = asyncio.get_running_loop().time() + limits.budget
        for url, group in groups.items():
            results.update(await self._run_page(url, group, limits, until, gone))
        return results

    async def _run_page(self, url: str, checks: Sequence[Check], limits: Timeouts, until: float, gone: Gone,
                        ) -> dict[int, Result]:
        """Open `url`, run the checks in order; after a timeout the page is discarded and reopened. Checks left when
        the loop's clock passes `until` are skipped: verification never eats the deadline."""
        loop = asyncio.get_running_loop()
        pending = list(checks)
        results: dict[int, Result] = {}
        while pending:
            if loop.time() >= until:
                spent = f"skipped: the verification budget of {limits.budget:g}s was spent"
                results.update({c.index: Result(c, Outcome.SKIPPED, spent, url) for c in pending})
                break
            log = PageLog()
            context, page, failure = await self._open(url, log, limits)
            try:
                if failure is not None:
                    for check in pending:
                        results[check.index] = self._result(check, Outcome.PAGE_NOT_LOADED, failure, url, log)
                    break
                settled = loop.time() + limits.change  # by then a page script has replaced what it computes
                while pending and loop.time() < until:
                    check = pending.pop(0)
                    wait = (gone.get(check.index, ()), max(0.0, settled - loop.time()))
                    result = await self._evaluate(page, check, url, log, limits, wait)
                    results[check.index] = result
                    if result.outcome in (Outcome.TIMEOUT, Outcome.ERROR):
                        break  # the page may be stuck: the rest get a fresh one
            finally:
                await _discard(context)
        return results

    async def _open(self, url: str, log: PageLog, limits: Timeouts) -> tuple[BrowserContext, Page, str | None]:
        if self._browser is None:
            raise BrowserUnavailable("the browser is not started (Browser.start) or already closed")
        context = await self._browser.new_context(bypass_csp=True, service_workers="block",
                                                  viewport={"width": 1280, "height": 900})
        if self.local_only:
            await context.route("**/*", lambda route: self._local_only(route, log))
        page = await context.new_page()
        page.on("console", lambda msg: log.console_errors.append(msg.text)
                if msg.type == "error" and BLOCKED not in msg.text else None)
        page.on("pageerror", lambda exc: log.console_errors.append(f"uncaught {exc}"))
        page.on("requestfailed", lambda request: _failed(request, log))
        page.on("response", lambda r: log.failed_requests.append(f"{r.url}: HTTP {r.status}") if r.status >= 400
                else None)
        try:
            response = await page.goto(url, wait_until="domcontentloaded", timeout=limits.load * 1000)
        except _playwright().TimeoutError:
            return context, page, f"the page never finished loading: no DOMContentLoaded within {limits.load:g}s"
        except _playwright().Error as exc:
            return context, page, f"the page could not be opened: {_first_line(exc)}"
        if response is not None and response.status >= 400:
            return context, page, f"the page answered HTTP {response.status}"
        loop = asyncio.get_running_loop()
        until = loop.time() + limits.settle
        for state in ("load", "networkidle"):
            left = until - loop.time()
            if left <= 0:
                break
            try:
                await page.wait_for_load_state(state, timeout=left * 1000)
            except _playwright().Error:
                break  # still loading or busy: checks run on what is there, as a grader's would
        return context, page, None

    async def _evaluate(self, page: Page, check: Check, url: str, log: PageLog, limits: Timeouts,
                        wait: tuple[Sequence[tuple[str, int, str, bool]], float]) -> Result:
        try:
            raw = await asyncio.wait_for(page.evaluate(HARNESS, check.js), limits.check)
        except TimeoutError:
            return self._result(check, Outcome.TIMEOUT, f"no result within {limits.check:g}s", url, log)
        except _playwright().Error as exc:
            return self._result(check, Outcome.ERROR, f"the page failed during the check: {_first_line(exc)}",
                                url, log)
        outcome = Outcome(raw.get("outcome")) if isinstance(raw, dict) else Outcome.ERROR
        result = self._result(check, outcome, str(raw.get("detail", "")) if isinstance(raw, dict) else "", url, log)
        if not result.passed:
            result = replace(result, dom=await _snippet(page, check.js or ""))
        if outcome in (Outcome.PASSED, Outcome.FAILED, Outcome.THREW) and selectors(check.js or ""):
            result = replace(result, read=await _read(page, check.js or "", *wait))
        return result

    @staticmethod
    def _result(check: Check, outcome: Outcome, detail: str, url: str, log: PageLog) -> Result:
        return Result(check, outcome, detail, url, console_errors=tuple(log.console_errors[-10:]),
                      failed_requests=tuple(log.failed_requests[-10:]))

    async def _local_only(self, route: Route, log: PageLog) -> None:
        """Sandbox mode: the page may load only from the loopback interface; the rest is refused at once."""
        url = route.request.url
        if urlsplit(url).hostname in LOOPBACK:
            await route.continue_()
        else:
            log.blocked.append(url)
            await route.abort("blockedbyclient")


def _failed(request: Request, log: PageLog) -> None:
    reason = request.failure or "failed"
    if BLOCKED not in reason:
        log.failed_requests.append(f"{request.url}: {reason}")


async def _snippet(page: Page, js: str) -> str:
    try:
        return str(await asyncio.wait_for(
            page.evaluate(SNIPPET, [selectors(js), "document.title" in js, SNIPPET_MATCHES]), 5))
    except (TimeoutError, _playwright().Error):
        return ""


async def _read(page: Page, js: str, gone: Sequence[tuple[str, int, str, bool]], left: float) -> Reads:
    wait = left if gone else 0.0
    try:
        raw = await asyncio.wait_for(page.evaluate(READ, [selectors(js), [list(g) for g in gone], wait * 1000,
                                                          MAX_MATCHES]), wait + 5)
    except (TimeoutError, _playwright().Error):
        return ()
    return tuple((str(s), tuple(str(t) for t in texts)) for s, texts in raw)


async def _discard(context: BrowserContext) -> None:
    with contextlib.suppress(TimeoutError, _playwright().Error):
        await asyncio.wait_for(context.close(), 10)


def _playwright() -> ModuleType:
    """Playwright's API, imported by the first browser start (in the browser's thread), not with this module: it
    costs a tenth of a second that a run without browser checks never needs. Its error classes are read here too,
    at the moment an exception is matched, which is always after the start."""
    import playwright.async_api

    return playwright.async_api


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]
