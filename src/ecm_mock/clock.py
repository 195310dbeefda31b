"""Time, injected: the app reads it through a :class:`Clock`, never from ``time`` directly.

:class:`ControlledClock` is what an app runs on: the wall clock, until the control plane (or a
test) freezes, sets or advances it. Token expiry and every timestamp the mock writes follow it.
"""

from __future__ import annotations

import functools
import threading
import time
import zoneinfo
from collections.abc import Callable
from datetime import UTC, datetime

# the moments a timestamp of the API can show (four-digit years); a running clock stops at
# the last one
EARLIEST = datetime(1000, 1, 1, tzinfo=UTC).timestamp()
LATEST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp()


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
    """``epoch_seconds`` as the API writes a timestamp; a moment past ``LATEST`` (a retry due
    after the clock's last second, which never comes) is written as ``LATEST``."""
    return _iso_second(int(min(max(epoch_seconds, EARLIEST), LATEST) // 1))


@functools.lru_cache(maxsize=4)  # the same second is asked for many times in a row
def _iso_second(second: int) -> str:
    return datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@functools.lru_cache(maxsize=1024)
def time_zone(name: str) -> zoneinfo.ZoneInfo | None:
    """The IANA time zone ``name``, or None when there is none of that name."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


class ControlledClock(Clock):
    """A clock that runs with the wall clock, or stands frozen, and can be moved either way.

    Running, it goes ``speed`` times as fast as the wall clock (1 by default; 60: a wall
    second is a minute of the mock's time), and stops at ``LATEST``.
    """

    def __init__(self, source: Callable[[], float] = time.time, frozen_at: float | None = None):
        self._source = source
        self._base = source()  # the mock's time at ``_anchor`` (a reading of the source)
        self._anchor = self._base
        self._speed = 1.0
        self._frozen_at = frozen_at
        self._lock = threading.Lock()

    def time(self) -> float:
        with self._lock:
            return self._now()

    def _now(self) -> float:
        if self._frozen_at is not None:
            return self._frozen_at
        return min(self._base + (self._source() - self._anchor) * self._speed, LATEST)

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    @property
    def speed(self) -> float:
        return self._speed

    def freeze(self, at: float | None = None) -> None:
        with self._lock:
            self._frozen_at = self._now() if at is None else at

    def unfreeze(self) -> None:
        with self._lock:
            self._base, self._anchor = self._now(), self._source()
            self._frozen_at = None

    def set_speed(self, speed: float) -> None:
        """Run ``speed`` times as fast as the wall clock from now on (frozen: once running)."""
        if not speed > 0:
            raise ValueError(f"a clock's speed is above 0, not {speed}")
        with self._lock:
            self._base, self._anchor = self._now(), self._source()
            self._speed = float(speed)

    def advance(self, seconds: float) -> None:
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += seconds
            else:
                self._base += seconds


class FixedClock(ControlledClock):
    """A clock frozen at ``start`` until moved: for tests."""

    def __init__(self, start: float) -> None:
        super().__init__(frozen_at=start)

    @property
    def now(self) -> float:
        return self.time()
