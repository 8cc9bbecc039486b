"""A step that runs in a thread while `deployer run` goes on (the checks and the browser while the model writes).

Its log lines wait until the main thread joins it, then go out where the main thread is, so they never break into
the log group of the stage running meanwhile; after the join they pass straight through (a verifier keeps the log
it was given). The join returns the step's value or raises its error, as a call would have.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Generic, TypeVar

T = TypeVar("T")
Logger = Callable[[str], None]


class HeldLog:
    """A log that keeps its lines until `release(to)`, then writes them, and every later one, to `to`."""

    def __init__(self) -> None:
        self._lines: list[str] = []
        self._to: Logger | None = None
        self._lock = threading.Lock()

    def __call__(self, line: str) -> None:
        with self._lock:
            if self._to is None:
                self._lines.append(line)
                return
            to = self._to
        to(line)

    def release(self, to: Logger) -> None:
        with self._lock:
            lines, self._lines, self._to = self._lines, [], to
        for line in lines:
            to(line)


class Meanwhile(Generic[T]):
    """`step(log)` started now in a daemon thread; `join(log)` waits for it, then releases its lines to `log`."""

    def __init__(self, name: str, step: Callable[[Logger], T]):
        self.name = name
        self.began = time.monotonic()
        self.ended: float | None = None
        self.log = HeldLog()
        self._future: Future[T] = Future()
        threading.Thread(target=self._run, args=(step,), name=f"meanwhile-{name}", daemon=True).start()

    @property
    def seconds(self) -> float:
        """How long the step took (so far, while it runs)."""
        return (self.ended or time.monotonic()) - self.began

    def join(self, log: Logger) -> T:
        try:
            return self._future.result()
        finally:
            self.log.release(log)

    def _run(self, step: Callable[[Logger], T]) -> None:
        try:
            value = step(self.log)
        except BaseException as exc:  # handed to the joining thread, which raises it
            self.ended = time.monotonic()
            self._future.set_exception(exc)
        else:
            self.ended = time.monotonic()
            self._future.set_result(value)
