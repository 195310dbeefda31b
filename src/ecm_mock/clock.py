"""Time, injected: the app reads it through a :class:`Clock`, never from ``time`` directly.

:class:`ControlledClock` is what an app runs on: the wall clock, until the control plane (or a
test) freezes, sets or advances it. Token expiry and every timestamp the mock writes follow it.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime


class Clock:
    """The wall clock."""

    def time(self) -> float:
        return time.time()

    def iso(self) -> str:
        """Now as an ISO-8601 UTC string with a ``Z``, the form of the API's timestamps."""
        return iso(self.time())

    def java_date(self) -> str:
        """Now in Java's ``Date.toString()`` form, as the vendor's ``lastLogin``."""
        return datetime.fromtimestamp(self.time(), UTC).strftime("%a %b %d %H:%M:%S UTC %Y")


def iso(epoch_seconds: float) -> str:
    return _iso_second(int(epoch_seconds // 1))


@functools.lru_cache(maxsize=4)  # the same second is asked for many times in a row
def _iso_second(second: int) -> str:
    return datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ControlledClock(Clock):
    """A clock that runs with the wall clock, or stands frozen, and can be moved either way."""

    def __init__(self, source: Callable[[], float] = time.time, frozen_at: float | None = None):
        self._source = source
        self._offset = 0.0
        self._frozen_at = frozen_at
        self._lock = threading.Lock()

    def time(self) -> float:
        with self._lock:
            if self._frozen_at is not None:
                return self._frozen_at
            return self._source() + self._offset

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def freeze(self, at: float | None = None) -> None:
        now = self.time() if at is None else at
        with self._lock:
            self._frozen_at = now

    def unfreeze(self) -> None:
        now = self.time()
        with self._lock:
            self._offset = now - self._source()
            self._frozen_at = None

    def advance(self, seconds: float) -> None:
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += seconds
            else:
                self._offset += seconds


class FixedClock(ControlledClock):
    """A clock frozen at ``start`` until moved: for tests."""

    def __init__(self, start: float) -> None:
        super().__init__(frozen_at=start)

    @property
    def now(self) -> float:
        return self.time()
