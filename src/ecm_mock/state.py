"""In-memory state of one mock app, and the store that guards it.

The server is threaded: every read and write goes through :meth:`Store.transaction`, which
holds the store's lock. Handlers check everything first and change state last, so a refused
request changes nothing; what leaves the store is a copy (:func:`copy.deepcopy` or a fresh dict).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

Record = dict[str, Any]


@dataclass
class State:
    """Everything a mock deployment holds. Records are the API's JSON objects."""

    license: Record = field(default_factory=dict)
    users: dict[str, Record] = field(default_factory=dict)  # username -> {password, userDetails}
    cisco: dict[str, list[Record]] = field(default_factory=lambda: {"cce": [], "ccx": []})
    strategies: dict[int, Record] = field(default_factory=dict)  # {id, name}
    attempts: dict[int, Record] = field(default_factory=dict)  # the Attempt objects
    campaigns: dict[int, Record] = field(default_factory=dict)
    contacts: dict[int, Record] = field(default_factory=dict)
    contacts_by_campaign: dict[int, list[int]] = field(default_factory=dict)  # ids, ascending
    open_phones: dict[int, dict[str, int]] = field(
        default_factory=dict
    )  # campaign -> phone01 -> id
    dnc: dict[int, Record] = field(default_factory=dict)
    dnc_by_number: dict[str, int] = field(default_factory=dict)
    preferences: Record | None = None  # with the password; answers leave it out
    last_ids: dict[str, int] = field(default_factory=dict)

    def next_id(self, kind: str) -> int:
        self.last_ids[kind] = self.last_ids.get(kind, 0) + 1
        return self.last_ids[kind]

    def dump(self) -> dict[str, Any]:
        """A JSON-ready deep copy of everything (for tests and the control plane)."""
        return {
            "license": copy.deepcopy(self.license),
            "users": copy.deepcopy(self.users),
            "cisco": copy.deepcopy(self.cisco),
            "strategies": [copy.deepcopy(v) for _, v in sorted(self.strategies.items())],
            "attempts": [copy.deepcopy(v) for _, v in sorted(self.attempts.items())],
            "campaigns": [copy.deepcopy(v) for _, v in sorted(self.campaigns.items())],
            "contacts": [copy.deepcopy(v) for _, v in sorted(self.contacts.items())],
            "dnc": [copy.deepcopy(v) for _, v in sorted(self.dnc.items())],
            "preferences": copy.deepcopy(self.preferences),
            "last_ids": dict(self.last_ids),
        }


class Store:
    """Owns one :class:`State` and its lock; :meth:`reset` rebuilds it from a factory."""

    def __init__(self, factory: Callable[[], State]) -> None:
        self._factory = factory
        self._lock = threading.RLock()
        self._state = factory()

    @contextmanager
    def transaction(self) -> Iterator[State]:
        """The live state, under the lock. Check first, change last; hand out copies."""
        with self._lock:
            yield self._state

    def reset(self) -> None:
        fresh = self._factory()
        with self._lock:
            self._state = fresh

    def dump(self) -> dict[str, Any]:
        with self._lock:
            return self._state.dump()
