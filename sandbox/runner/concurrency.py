"""`concurrency:` groups: at most one running and one pending run (or job) per group, as GitHub schedules them.

A newly queued run replaces the pending one, which is cancelled; `cancel-in-progress` also cancels the running one.
Group names compare case-insensitively. The registry is in-process and thread-safe, so a dispatcher that runs each
workflow run in a thread shares one registry between them.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

_ids = itertools.count(1)


class RunHandle:
    """Lets another thread cancel a run: the current step's process group is killed, later steps see cancelled()."""

    def __init__(self, run_id: int | None = None):
        self.run_id = run_id if run_id is not None else next(_ids)
        self._cancelled = threading.Event()

    def cancel(self) -> None:
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def wait_cancelled(self, timeout: float) -> bool:
        return self._cancelled.wait(timeout)


@dataclass
class _Group:
    running: RunHandle | None = None
    pending: RunHandle | None = None


class ConcurrencyRegistry:
    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._groups: dict[str, _Group] = {}

    def snapshot(self) -> dict[str, tuple[int | None, int | None]]:
        """group -> (running run id, pending run id), for dispatchers and tests."""
        with self._lock:
            return {
                key: (g.running.run_id if g.running else None, g.pending.run_id if g.pending else None)
                for key, g in self._groups.items()
            }

    def acquire(self, group: str, handle: RunHandle, cancel_in_progress: bool = False) -> bool:
        """Block until `handle` may run in `group`; False when it was cancelled while it waited."""
        key = group.lower()
        with self._lock:
            g = self._groups.setdefault(key, _Group())
            if g.running is handle:
                raise ValueError(f"run {handle.run_id} already holds concurrency group {group!r}; waiting would hang")
            if g.running is None:
                g.running = handle
                return True
            if g.pending is not None:
                g.pending.cancel()
            g.pending = handle
            if cancel_in_progress:
                g.running.cancel()
            self._lock.notify_all()
            while not handle.cancelled and not (g.running is None and g.pending is handle):
                self._lock.wait(0.1)
            if g.pending is handle:
                g.pending = None
            if handle.cancelled:
                self._forget(key, g)
                return False
            g.running = handle
            return True

    def release(self, group: str, handle: RunHandle) -> None:
        key = group.lower()
        with self._lock:
            g = self._groups.get(key)
            if g is None:
                return
            if g.running is handle:
                g.running = None
            self._forget(key, g)
            self._lock.notify_all()

    def _forget(self, key: str, g: _Group) -> None:
        if g.running is None and g.pending is None:
            self._groups.pop(key, None)

    @contextmanager
    def hold(self, group: str, handle: RunHandle, cancel_in_progress: bool = False) -> Iterator[bool]:
        """`with registry.hold(...) as acquired:` runs the body holding the group (acquired False: cancelled)."""
        acquired = self.acquire(group, handle, cancel_in_progress)
        try:
            yield acquired
        finally:
            if acquired:
                self.release(group, handle)
