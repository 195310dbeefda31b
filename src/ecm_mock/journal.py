"""The request journal: a bounded ring buffer of the requests the mock answered.

Bounded twice: at most ``size`` entries, and at most ``max_bytes`` of them together (as JSON,
about); older entries fall out first. An entry itself is bounded: text fields are cut to
:data:`LONGEST_TEXT` characters and only the first :data:`MOST_ERRORS` validation errors are
kept (``validationErrorCount`` then says how many there were, ``truncated`` that it was cut).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from typing import Any

from .errors import ErrorItem

LONGEST_TEXT = 500  # characters of a path, query, pointer or message kept in an entry
MOST_ERRORS = 10  # validation errors kept in an entry
_ENTRY_BYTES = 200  # an entry's JSON besides its text fields, about
_ERROR_BYTES = 40  # an error's JSON besides its text, about


class Journal:
    """The last ``size`` entries within ``max_bytes``. Safe under concurrent requests."""

    def __init__(self, size: int, max_bytes: int = 8 * 1024 * 1024) -> None:
        self._entries: deque[tuple[int, dict[str, Any]]] = deque()  # (bytes, entry)
        self._size = size
        self.max_bytes = max_bytes
        self.bytes = 0  # what the entries kept take, about
        self._lock = threading.Lock()
        self._seq = 0

    @property
    def size(self) -> int:
        return self._size

    def add(self, entry: dict[str, Any], errors: Iterable[ErrorItem] = ()) -> int:
        """Append an entry (cut to its bounds) with its validation errors; returns its ``seq``."""
        errors = tuple(errors)
        cut = len(errors) > MOST_ERRORS
        kept: dict[str, Any] = {}
        for key, value in entry.items():
            if isinstance(value, str) and len(value) > LONGEST_TEXT:
                value, cut = value[: LONGEST_TEXT - 1] + "…", True
            kept[key] = value
        listed = []
        for error in errors[:MOST_ERRORS]:
            item = {}
            for key, value in (
                ("location", error.location),
                ("pointer", error.pointer),
                ("message", error.message),
            ):
                if len(value) > LONGEST_TEXT:
                    value, cut = value[: LONGEST_TEXT - 1] + "…", True
                item[key] = value
            listed.append(item)
        kept["validationErrors"] = listed
        if len(errors) > MOST_ERRORS:
            kept["validationErrorCount"] = len(errors)
        if cut:
            kept["truncated"] = True
        size = _ENTRY_BYTES + sum(len(v) for v in kept.values() if isinstance(v, str))
        size += sum(_ERROR_BYTES + sum(map(len, e.values())) for e in listed)
        with self._lock:
            self._seq += 1
            self._entries.append((size, {"seq": self._seq, **kept}))
            self.bytes += size
            while len(self._entries) > self._size or self.bytes > self.max_bytes:
                self.bytes -= self._entries.popleft()[0]
            return self._seq

    def entries(self, limit: int | None = None, **filters: Any) -> list[dict[str, Any]]:
        """Entries (newest last) whose fields equal every given filter; the newest ``limit``."""
        wanted = {k: v for k, v in filters.items() if v is not None}
        with self._lock:
            found = [e for _, e in self._entries if all(e.get(k) == v for k, v in wanted.items())]
        return found[-limit:] if limit else found

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.bytes = 0

    def __len__(self) -> int:
        return len(self._entries)
