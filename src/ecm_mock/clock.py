"""Time, injected: the app reads it through a :class:`Clock`, never from ``time`` directly."""

from __future__ import annotations

import time
from datetime import UTC, datetime


class Clock:
    """The wall clock. Tests (and the control plane) substitute their own."""

    def time(self) -> float:
        return time.time()

    def iso(self) -> str:
        """Now as an ISO-8601 UTC string with a ``Z``, the form of the API's timestamps."""
        return datetime.fromtimestamp(self.time(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def java_date(self) -> str:
        """Now in Java's ``Date.toString()`` form, as the vendor's ``lastLogin``."""
        return datetime.fromtimestamp(self.time(), UTC).strftime("%a %b %d %H:%M:%S UTC %Y")


class FixedClock(Clock):
    """A clock that stands still until moved: for tests."""

    def __init__(self, start: float) -> None:
        self.now = start

    def time(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
