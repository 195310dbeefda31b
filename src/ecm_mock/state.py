"""In-memory state of one mock app, and the store that guards it.

The server is threaded: every read and write goes through :meth:`Store.transaction`, which
holds the store's lock. Handlers check everything first and change state last, so a refused
request changes nothing; what leaves the store is a copy (:func:`copy.deepcopy` or a fresh dict).
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from . import runtime as _runtime
from .runtime import RuntimeState

Record = dict[str, Any]


def copy_json(value: Any) -> Any:
    """A deep copy of a JSON value (dicts, lists, scalars): what records are. Faster than
    :func:`copy.deepcopy`, which every answer pays for."""
    if isinstance(value, dict):
        return {k: copy_json(v) if isinstance(v, dict | list) else v for k, v in value.items()}
    if isinstance(value, list):
        return [copy_json(v) if isinstance(v, dict | list) else v for v in value]
    return value


def cisco_id_and_type(flavour: str, item: Record) -> tuple[int, str]:
    """A Cisco campaign's id and dialing mode: the two flavours name them differently."""
    if flavour == "cce":
        return item["campaignId"], item["campaignType"]
    return item["id"], item["type"]


@dataclass
class State:
    """Everything a mock deployment holds. Records are the API's JSON objects."""

    license: Record = field(default_factory=dict)
    users: dict[str, Record] = field(default_factory=dict)  # username -> {password, userDetails}
    cisco: dict[str, list[Record]] = field(default_factory=lambda: {"cce": [], "ccx": []})
    strategies: dict[int, Record] = field(default_factory=dict)  # {id, name}
    attempts: dict[int, Record] = field(default_factory=dict)  # the Attempt objects
    attempts_by_strategy: dict[int, set[int]] = field(default_factory=dict)  # csId -> ids
    attempt_numbers: dict[int, dict[int, int]] = field(default_factory=dict)  # see numbers_in
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
    runtime: RuntimeState = field(default_factory=RuntimeState)  # the campaign runtime

    def add_attempt(self, attempt: Record) -> None:
        """Store an attempt (new, or changed: an attempt never changes strategy)."""
        strategy_id, known = attempt["csId"], attempt["id"] in self.attempts
        self.attempts[attempt["id"]] = attempt
        self.attempts_by_strategy.setdefault(strategy_id, set()).add(attempt["id"])
        numbers = self.attempt_numbers.get(strategy_id)
        if known:
            self.renumbered(strategy_id)  # its number may have moved
        elif numbers is not None:
            numbers[attempt["attemptNumber"]] = attempt["id"]

    def remove_attempt(self, attempt_id: int) -> None:
        attempt = self.attempts.pop(attempt_id)
        self.attempts_by_strategy.get(attempt["csId"], set()).discard(attempt_id)
        self.renumbered(attempt["csId"])

    def attempts_in(self, strategy_id: int) -> list[Record]:
        """The strategy's attempts, in no particular order."""
        return [self.attempts[i] for i in self.attempts_by_strategy.get(strategy_id, ())]

    def numbers_in(self, strategy_id: int) -> dict[int, int]:
        """The strategy's attempt numbers, each to its attempt's id (kept between calls)."""
        numbers = self.attempt_numbers.get(strategy_id)
        if numbers is None:
            numbers = {a["attemptNumber"]: a["id"] for a in self.attempts_in(strategy_id)}
            self.attempt_numbers[strategy_id] = numbers
        return numbers

    def renumbered(self, strategy_id: int) -> None:
        """Attempt numbers of the strategy changed in place: forget what was kept of them."""
        self.attempt_numbers.pop(strategy_id, None)

    def next_id(self, kind: str) -> int:
        self.last_ids[kind] = self.last_ids.get(kind, 0) + 1
        return self.last_ids[kind]

    def dump(self) -> dict[str, Any]:
        """A JSON-ready deep copy of everything (for tests and the control plane)."""
        return {
            "license": copy_json(self.license),
            "users": copy_json(self.users),
            "cisco": copy_json(self.cisco),
            "strategies": [copy_json(v) for _, v in sorted(self.strategies.items())],
            "attempts": [copy_json(v) for _, v in sorted(self.attempts.items())],
            "campaigns": [copy_json(v) for _, v in sorted(self.campaigns.items())],
            "contacts": [copy_json(v) for _, v in sorted(self.contacts.items())],
            "dnc": [copy_json(v) for _, v in sorted(self.dnc.items())],
            "preferences": copy_json(self.preferences),
            "last_ids": dict(self.last_ids),
            "runtime": _runtime.summary(self.runtime),
        }


class Store:
    """Owns one :class:`State` and its lock; :meth:`reset` rebuilds it from a factory.

    Snapshots are deep copies of the state, by name; restoring one gives back exactly it.
    """

    def __init__(self, factory: Callable[[], State]) -> None:
        self._factory = factory
        self._lock = threading.RLock()
        self._state = factory()
        self._snapshots: dict[str, tuple[str, State]] = {}

    @contextmanager
    def transaction(self) -> Iterator[State]:
        """The live state, under the lock. Check first, change last; hand out copies."""
        with self._lock:
            yield self._state

    def reset(self, factory: Callable[[], State] | None = None) -> None:
        """Rebuild the state; with ``factory``, from it now and on every later reset."""
        fresh = (factory or self._factory)()
        with self._lock:
            self._factory = factory or self._factory
            self._state = fresh

    def dump(self) -> dict[str, Any]:
        with self._lock:
            return self._state.dump()

    def counts(self) -> dict[str, int]:
        with self._lock:
            state = self._state
            return {
                "strategies": len(state.strategies),
                "attempts": len(state.attempts),
                "campaigns": len(state.campaigns),
                "contacts": len(state.contacts),
                "dnc": len(state.dnc),
                "preferences": int(state.preferences is not None),
                "users": len(state.users),
            }

    def snapshot(self, name: str, taken_at: str) -> None:
        with self._lock:
            self._snapshots.pop(name, None)  # a retaken snapshot is the newest
            self._snapshots[name] = (taken_at, copy.deepcopy(self._state))

    def restore(self, name: str) -> bool:
        with self._lock:
            if name not in self._snapshots:
                return False
            self._state = copy.deepcopy(self._snapshots[name][1])
            return True

    def delete_snapshot(self, name: str) -> bool:
        with self._lock:
            return self._snapshots.pop(name, None) is not None

    def snapshots(self) -> list[tuple[str, str]]:
        """(name, taken at) of each snapshot, oldest first."""
        with self._lock:
            return [(name, taken) for name, (taken, _) in self._snapshots.items()]


class Sessions:
    """The default store and up to ``limit`` isolated, named ones (``X-Mock-Session``).

    A named store is built from the fixtures on first use; past the limit, the one used least
    recently is dropped.
    """

    def __init__(self, factory: Callable[[], State], limit: int) -> None:
        self.factory = factory  # builds a state from the fixtures the server started with
        self.limit = limit
        self.default = Store(factory)
        self._named: OrderedDict[str, Store] = OrderedDict()
        self._lock = threading.Lock()

    def store(self, name: str | None) -> Store:
        if name is None:
            return self.default
        with self._lock:
            store = self._named.get(name)
            if store is not None:
                self._named.move_to_end(name)
                return store
        fresh = Store(self.factory)  # built outside the lock: it may take a while
        with self._lock:
            store = self._named.setdefault(name, fresh)
            self._named.move_to_end(name)
            while len(self._named) > self.limit:
                self._named.popitem(last=False)
            return store

    def names(self) -> list[str]:
        with self._lock:
            return list(self._named)

    def has(self, name: str) -> bool:
        with self._lock:
            return name in self._named

    def stores(self) -> list[Store]:
        """The default store and every named one (without touching their order of use)."""
        with self._lock:
            return [self.default, *self._named.values()]
