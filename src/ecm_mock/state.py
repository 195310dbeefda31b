"""In-memory state of one mock app, and the store that guards it.

The server is threaded: every read and write goes through :meth:`Store.transaction`, which
holds the store's lock. Handlers check everything first and change state last, so a refused
request changes nothing; what leaves the store is a copy (:func:`copy_json` or a fresh dict).

And if a handler fails after all (a bug) or its answer breaks the contract, the change is
undone: the state's containers note what each change replaced (:class:`UndoLog`), and
:meth:`Store.request` keeps the lock from a request's first change until it is answered, then
keeps the changes or puts everything back. Records are never changed in place: a changed
record is a new dict stored under its key, so the containers see every change.
"""

from __future__ import annotations

import pickle
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from . import runtime as _runtime
from .runtime import RuntimeState

Record = dict[str, Any]
_MISSING = object()


class UndoLog:
    """The changes of the transaction in progress, each with how to undo it (newest last).

    ``entries`` is flat, four items a change (how to undo it, container, key, old value): no
    object per change, so a large upload leaves the garbage collector little to walk. A list
    or set is noted once a transaction (``noted``), whole or only its length (appends): undone
    newest first, its earliest note restores it. A list noted by length is noted whole too at
    its first other change (which may change what the length keeps).
    """

    __slots__ = ("active", "entries", "noted")

    def __init__(self) -> None:
        self.active = False
        self.entries: list[Any] = []
        self.noted: dict[int, bool] = {}  # id of a list or set -> noted whole

    def begin(self) -> None:
        self.active, self.entries, self.noted = True, [], {}

    def commit(self) -> None:
        self.active, self.entries, self.noted = False, [], {}

    def rollback(self) -> None:
        entries = self.entries
        self.commit()
        for at in range(len(entries) - 4, -1, -4):
            undo, container, key, old = entries[at : at + 4]
            undo(container, key, old)

    def note_length(self, container: list) -> None:
        if id(container) not in self.noted:
            self.noted[id(container)] = False
            self.entries.extend((_truncate, container, len(container), None))

    def note_whole(self, container: list | set) -> None:
        if not self.noted.get(id(container)):
            self.noted[id(container)] = True
            copy = list(container) if isinstance(container, list) else set(container)
            undo = _restore_list if isinstance(container, list) else _restore_set
            self.entries.extend((undo, container, None, copy))


def _put_back(container: dict, key: Any, old: Any) -> None:
    if old is _MISSING:
        dict.pop(container, key, None)
    else:
        dict.__setitem__(container, key, old)


def _restore_list(container: list, _key: Any, old: list) -> None:
    list.__setitem__(container, slice(None), old)


def _truncate(container: list, length: int, _old: Any) -> None:
    list.__delitem__(container, slice(length, None))


def _restore_set(container: set, _key: Any, old: set) -> None:
    set.clear(container)
    set.update(container, old)


def _set_attribute(instance: Any, name: str, old: Any) -> None:
    object.__setattr__(instance, name, old)


class TrackedDict(dict):
    """A dict whose changes go into an :class:`UndoLog` while it is active.

    ``nested``: an index whose values are containers (lists, sets, dicts); those are tracked
    too. Records (the values of the other containers) are replaced, never changed in place.
    """

    __slots__ = ("_nested", "_undo")

    def __init__(self, items: Any = (), *, undo: UndoLog, nested: bool = False) -> None:
        super().__init__()
        self._undo, self._nested = undo, nested
        for key, value in dict(items).items():
            dict.__setitem__(self, key, self._wrap(value))

    def _wrap(self, value: Any) -> Any:
        if not self._nested or type(value) not in (dict, list, set):
            return value
        if type(value) is dict:
            return TrackedDict(value, undo=self._undo)
        return (TrackedList if type(value) is list else TrackedSet)(value, undo=self._undo)

    def _note(self, key: Any) -> None:
        if self._undo.active:
            self._undo.entries.extend((_put_back, self, key, dict.get(self, key, _MISSING)))

    def __setitem__(self, key: Any, value: Any) -> None:
        undo = self._undo
        if undo.active:
            undo.entries.extend((_put_back, self, key, dict.get(self, key, _MISSING)))
        if self._nested:
            value = self._wrap(value)
        dict.__setitem__(self, key, value)

    def __delitem__(self, key: Any) -> None:
        self._note(key)
        dict.__delitem__(self, key)

    def pop(self, key: Any, *default: Any) -> Any:
        if key in self:
            self._note(key)
        return dict.pop(self, key, *default)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return dict.__getitem__(self, key)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def popitem(self) -> tuple[Any, Any]:
        key = next(reversed(self))
        return key, self.pop(key)

    def clear(self) -> None:
        for key in list(self):
            del self[key]

    def __reduce__(self) -> Any:  # pickled (snapshots) as a plain call, with its log
        return (_tracked_dict, (dict(self), self._undo, self._nested))


def _tracked_dict(items: dict, undo: UndoLog, nested: bool) -> TrackedDict:
    tracked = TrackedDict(undo=undo, nested=nested)
    dict.update(tracked, items)
    return tracked


class TrackedList(list):
    """A list whose changes go into an :class:`UndoLog` while it is active."""

    __slots__ = ("_undo",)

    def __init__(self, items: Any = (), *, undo: UndoLog) -> None:
        super().__init__(items)
        self._undo = undo

    def _note_length(self) -> None:
        if self._undo.active:
            self._undo.note_length(self)

    def _note_all(self) -> None:
        if self._undo.active:
            self._undo.note_whole(self)

    def append(self, value: Any) -> None:
        self._note_length()
        list.append(self, value)

    def extend(self, values: Any) -> None:
        self._note_length()
        list.extend(self, values)

    def __iadd__(self, values: Any) -> TrackedList:
        self.extend(values)
        return self

    def _changes_all(name: str) -> Any:
        method = getattr(list, name)

        def change(self: TrackedList, *args: Any, **kwargs: Any) -> Any:
            self._note_all()
            return method(self, *args, **kwargs)

        change.__name__ = name
        return change

    pop = _changes_all("pop")
    remove = _changes_all("remove")
    insert = _changes_all("insert")
    clear = _changes_all("clear")
    sort = _changes_all("sort")
    reverse = _changes_all("reverse")
    __setitem__ = _changes_all("__setitem__")
    __delitem__ = _changes_all("__delitem__")
    del _changes_all

    def __reduce__(self) -> Any:
        return (_tracked_list, (list(self), self._undo))


def _tracked_list(items: list, undo: UndoLog) -> TrackedList:
    return TrackedList(items, undo=undo)


class TrackedSet(set):
    """A set whose changes go into an :class:`UndoLog` while it is active."""

    __slots__ = ("_undo",)

    def __init__(self, items: Any = (), *, undo: UndoLog) -> None:
        super().__init__(items)
        self._undo = undo

    def _note(self) -> None:
        if self._undo.active:
            self._undo.note_whole(self)

    def add(self, value: Any) -> None:
        if value not in self:
            self._note()
            set.add(self, value)

    def discard(self, value: Any) -> None:
        if value in self:
            self._note()
            set.discard(self, value)

    def remove(self, value: Any) -> None:
        self._note()
        set.remove(self, value)

    def pop(self) -> Any:
        self._note()
        return set.pop(self)

    def clear(self) -> None:
        self._note()
        set.clear(self)

    def update(self, *others: Any) -> None:
        self._note()
        set.update(self, *others)

    def __reduce__(self) -> Any:
        return (_tracked_set, (set(self), self._undo))


def _tracked_set(items: set, undo: UndoLog) -> TrackedSet:
    return TrackedSet(items, undo=undo)


def copy_json(value: Any) -> Any:
    """A deep copy of a JSON value (dicts, lists, scalars): what records are. Faster than
    :func:`copy.deepcopy`, which every answer pays for."""
    if isinstance(value, dict):
        copied = dict(value)  # copied whole in C; only what holds more is copied again
        for key, item in value.items():
            if isinstance(item, _CONTAINERS):
                copied[key] = copy_json(item)
        return copied
    if isinstance(value, list):
        return [copy_json(item) if isinstance(item, _CONTAINERS) else item for item in value]
    return value


_CONTAINERS = (dict, list)  # a tuple: isinstance takes it faster than dict | list


def cisco_id_and_type(flavour: str, item: Record) -> tuple[int, str]:
    """A Cisco campaign's id and dialing mode: the two flavours name them differently."""
    if flavour == "cce":
        return item["campaignId"], item["campaignType"]
    return item["id"], item["type"]


# State's containers of records, and its indexes whose values are containers (both tracked)
_RECORDS = ("users", "strategies", "attempts", "campaigns", "contacts", "dnc", "dnc_by_number")
_INDEXES = ("attempts_by_strategy", "contacts_by_campaign", "open_phones", "last_ids")


@dataclass
class State:
    """Everything a mock deployment holds. Records are the API's JSON objects.

    Its containers and attributes note each change in :attr:`undo` while a transaction is
    in progress; a record is never changed in place (store a changed copy under its key).
    ``attempt_numbers`` is a cache: dropped on a rollback.
    """

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
    undo: UndoLog = field(default_factory=UndoLog, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in (*_RECORDS, *_INDEXES):
            object.__setattr__(self, name, self._tracked(name, getattr(self, name)))

    def _tracked(self, name: str, value: Any) -> Any:
        if isinstance(value, TrackedDict) and value._undo is self.undo:
            return value
        if name in _RECORDS:
            return TrackedDict(value, undo=self.undo)
        return TrackedDict(value, undo=self.undo, nested=name != "last_ids")

    def __setattr__(self, name: str, value: Any) -> None:
        undo = self.__dict__.get("undo")
        if undo is None:  # being built
            object.__setattr__(self, name, value)
            return
        if undo.active:
            undo.entries.extend((_set_attribute, self, name, self.__dict__.get(name)))
        if name in _RECORDS or name in _INDEXES:
            value = self._tracked(name, value)
        object.__setattr__(self, name, value)

    def rollback(self) -> None:
        """Undo the changes of the transaction in progress."""
        self.undo.rollback()
        self.attempt_numbers.clear()

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


class SnapshotsFull(Exception):
    """No room for another snapshot (see :class:`SnapshotBudget`)."""


class SnapshotBudget:
    """What snapshots may hold: ``per_store`` snapshots each, ``total_bytes`` together.

    A snapshot is kept as the pickled state, so its size is known exactly.
    """

    def __init__(self, per_store: int = 32, total_bytes: int = 256 * 1024 * 1024) -> None:
        self.per_store, self.total_bytes = per_store, total_bytes
        self.used = 0
        self._lock = threading.Lock()

    def take(self, size: int, freed: int) -> None:
        """Account for a snapshot of ``size`` bytes replacing ``freed`` bytes, or raise."""
        with self._lock:
            if self.used - freed + size > self.total_bytes:
                raise SnapshotsFull(
                    f"the snapshots would take {self.used - freed + size} bytes, more than the "
                    f"{self.total_bytes} they may take together (--snapshot-bytes); "
                    "delete some first"
                )
            self.used += size - freed

    def give_back(self, size: int) -> None:
        with self._lock:
            self.used -= size


class _Request:
    """A request in progress on a store (:meth:`Store.request`), in its thread."""

    __slots__ = ("keep", "pinned", "states", "swapped")

    def __init__(self) -> None:
        self.keep = False  # set when the answer is known good: its changes are kept
        self.pinned = False  # it changed something: the store's lock is held until it ends
        self.states: list[State] = []  # the states whose changes it may undo
        self.swapped: State | None = None  # the state before a reset or restore replaced it


class Store:
    """Owns one :class:`State` and its lock; :meth:`reset` rebuilds it from a factory.

    Snapshots are the pickled state, by name; restoring one gives back exactly it.
    """

    def __init__(self, factory: Callable[[], State], budget: SnapshotBudget | None = None) -> None:
        self._factory = factory
        self._lock = threading.RLock()
        self._state = factory()
        self._snapshots: dict[str, tuple[str, bytes]] = {}
        self._budget = budget or SnapshotBudget()
        self._local = threading.local()  # the request in progress in each thread

    @contextmanager
    def transaction(self) -> Iterator[State]:
        """The live state, under the lock. Check first, change last; hand out copies.

        If the block fails, what it changed is undone. Within :meth:`request`, changes are
        kept or undone when the request ends, and the lock is held until then.
        """
        with self._lock:
            state = self._state
            if state.undo.active:  # within a transaction (or a request) of this thread
                yield state
                return
            state.undo.begin()
            try:
                yield state
            except BaseException:
                state.rollback()
                raise
            request = getattr(self._local, "request", None)
            if request is None or not state.undo.entries:
                state.undo.commit()
            else:
                self._pin(request, state)

    def _pin(self, request: _Request, state: State | None = None) -> None:
        if not request.pinned:
            self._lock.acquire()  # released when the request ends
            request.pinned = True
        if state is not None and state not in request.states:
            request.states.append(state)

    @contextmanager
    def request(self) -> Iterator[_Request]:
        """One request: set ``keep`` on what this yields once its answer is good, or
        everything it changed in this store is undone when the block ends. From its first
        change to its end, no other thread reads or changes the store."""
        request = _Request()
        self._local.request = request
        try:
            yield request
        finally:
            self._local.request = None
            if request.pinned:
                try:
                    for state in request.states:
                        state.undo.commit() if request.keep else state.rollback()
                    if not request.keep and request.swapped is not None:
                        self._state = request.swapped
                finally:
                    self._lock.release()

    def _replace(self, state: State) -> None:
        """Put ``state`` in place of the current one (undone with the request, if any)."""
        request = getattr(self._local, "request", None)
        if request is not None:
            self._pin(request)
            if request.swapped is None:
                request.swapped = self._state
        self._state = state

    def peek(self) -> State:
        """The live state, without the lock: for a glance that may race (never a change)."""
        return self._state

    def reset(self, factory: Callable[[], State] | None = None) -> None:
        """Rebuild the state; with ``factory``, from it now and on every later reset."""
        fresh = (factory or self._factory)()
        with self._lock:
            self._factory = factory or self._factory
            self._replace(fresh)

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
        """Keep the state as ``name``; :class:`SnapshotsFull` when there is no room."""
        with self._lock:
            old = self._snapshots.get(name)
            if old is None and len(self._snapshots) >= self._budget.per_store:
                raise SnapshotsFull(
                    f"this session holds {len(self._snapshots)} snapshots, the most it may "
                    "(--max-snapshots); delete one first or take it under a name in use"
                )
            data = pickle.dumps(self._state, protocol=pickle.HIGHEST_PROTOCOL)
            self._budget.take(len(data), len(old[1]) if old else 0)
            self._snapshots.pop(name, None)  # a retaken snapshot is the newest
            self._snapshots[name] = (taken_at, data)

    def restore(self, name: str) -> bool:
        with self._lock:
            if name not in self._snapshots:
                return False
            self._replace(pickle.loads(self._snapshots[name][1]))  # noqa: S301 - our own bytes
            return True

    def delete_snapshot(self, name: str) -> bool:
        with self._lock:
            taken = self._snapshots.pop(name, None)
            if taken is not None:
                self._budget.give_back(len(taken[1]))
            return taken is not None

    def drop_snapshots(self) -> None:
        """Forget every snapshot (the store is dropped)."""
        with self._lock:
            for name in list(self._snapshots):
                self.delete_snapshot(name)

    def snapshots(self) -> list[tuple[str, str]]:
        """(name, taken at) of each snapshot, oldest first."""
        with self._lock:
            return [(name, taken) for name, (taken, _) in self._snapshots.items()]


class Sessions:
    """The default store and up to ``limit`` isolated, named ones (``X-Mock-Session``).

    A named store is built from the fixtures on first use; past the limit, the one used least
    recently is dropped.
    """

    def __init__(
        self, factory: Callable[[], State], limit: int, budget: SnapshotBudget | None = None
    ) -> None:
        self.factory = factory  # builds a state from the fixtures the server started with
        self.limit = limit
        self.budget = budget or SnapshotBudget()  # the snapshots of all sessions
        self.default = Store(factory, self.budget)
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
        fresh = Store(self.factory, self.budget)  # built outside the lock: it may take a while
        with self._lock:
            store = self._named.setdefault(name, fresh)
            self._named.move_to_end(name)
            while len(self._named) > self.limit:
                self._named.popitem(last=False)[1].drop_snapshots()
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
