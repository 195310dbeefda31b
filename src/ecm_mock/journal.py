"""The request journal: a bounded ring buffer of the requests the mock answered."""

from __future__ import annotations

import threading
from collections import deque
from typing import Any


class Journal:
    """The last ``size`` entries; older ones fall out. Safe under concurrent requests."""

    def __init__(self, size: int) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=size)
        self._lock = threading.Lock()
        self._seq = 0

    @property
    def size(self) -> int:
        return self._entries.maxlen or 0

    def add(self, entry: dict[str, Any]) -> int:
        """Append an entry; returns its ``seq``."""
        with self._lock:
            self._seq += 1
            self._entries.append({"seq": self._seq, **entry})
            return self._seq

    def amend(self, seq: int, **changes: Any) -> None:
        """Change fields of entry ``seq``, if it is still kept."""
        with self._lock:
            for entry in reversed(self._entries):
                if entry["seq"] == seq:
                    entry.update(changes)
                    return

    def entries(self, limit: int | None = None, **filters: Any) -> list[dict[str, Any]]:
        """Entries (newest last) whose fields equal every given filter; the newest ``limit``."""
        wanted = {k: v for k, v in filters.items() if v is not None}
        with self._lock:
            found = [e for e in self._entries if all(e.get(k) == v for k, v in wanted.items())]
        return found[-limit:] if limit else found

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
